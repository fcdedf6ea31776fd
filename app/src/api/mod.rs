//! Server functions: Berth's API, one module per use case. Each checks what it needs on the server and
//! delegates to a port.

pub mod server_info;
