DROP TABLE erased_results;
