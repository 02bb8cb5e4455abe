//! Rampart's gateway: the request pipeline and the process around it.
//!
//! The modules read like the request path (see [`pipeline`] for the chart):
//!
//! | stage | module |
//! |---|---|
//! | 1 listener | [`listener`] (TCP, TLS/mTLS, limits, timeouts) |
//! | 2 normalise and route | [`rampart_normalize`], [`route`] |
//! | 3 WAF | [`waf`] |
//! | 4 authenticate | [`authn`] |
//! | 5 authorize | [`authz`] |
//! | 6 throttle | [`throttle`], [`usage`] (API keys, usage plans) |
//! | 7 validate | [`validate`] |
//! | 8 integrate | [`integrate`] |
//! | 9 respond and record | [`respond`], [`record`] |
//!
//! Around it: [`config`] (load, validate, compile), [`server`] (process, reload),
//! [`admin`] (metrics, health, the admin API for keys and plans), [`demo`] (the embedded
//! demo).

pub mod authn;
pub mod authz;
pub mod integrate;
pub mod listener;
pub mod record;
pub mod respond;
pub mod route;
pub mod throttle;
pub mod usage;
pub mod validate;
pub mod waf;

pub mod admin;
pub mod body;
pub mod config;
pub mod demo;
pub mod pipeline;
pub mod server;

pub use rampart_normalize as normalize;
