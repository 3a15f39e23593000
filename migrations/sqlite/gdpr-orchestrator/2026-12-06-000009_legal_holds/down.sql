DROP INDEX legal_holds_in_force;
DROP INDEX legal_holds_listing;
DROP TABLE legal_holds;
