//! Bytes in, values out: frame length checks and request/response headers. No I/O here, so
//! everything in this module can be tested and fuzzed without a socket.

pub mod frame;
pub mod header;
