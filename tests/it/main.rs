//! Integration tests: one binary (the 2-core machine links one), modules by subject. They
//! drive a gateway started in-process on 127.0.0.1 port 0 with real clients: FreeRADIUS's
//! `radclient`, pyrad (through `tests/py/radius_client.py`) and, for hostile traffic, raw UDP.

mod ad;
mod cli;
mod harness;
mod radius_flows;
mod radius_wire;
mod sync;
