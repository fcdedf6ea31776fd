//! The HTTP edge, in front of everything Berth serves: security headers (with the Content-Security-Policy
//! nonce the pages' inline hydration script carries), the request body size limit, rate limits, compression,
//! and the built site's files with their caching.

pub mod assets;
pub mod headers;
pub mod limits;
