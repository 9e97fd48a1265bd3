//! Integration tests: one binary (the 2-core machine links one), modules by subject. They
//! drive a gateway started in-process on 127.0.0.1 port 0 with real clients: FreeRADIUS's
//! `radclient`, pyrad (through `tests/py/radius_client.py`), OpenLDAP's tools, python ldap3
//! (through `tests/py/ldap_client.py`) and, for hostile traffic, raw UDP and TCP.

mod accounting;
mod ad;
mod browser;
mod cli;
mod cluster;
mod duo;
mod email;
mod fuzz;
mod harness;
mod http_sink;
mod ldap;
mod metrics;
mod pam;
mod portal;
mod portal_http;
mod portal_proxy;
mod privacyidea;
mod radius_flows;
mod radius_wire;
mod rd_gateway;
mod relay;
mod reload;
mod service;
mod sms;
mod store_faults;
mod sync;
mod upstream;
