//! participant: the wire types (being moved here from the services; issue #29).
