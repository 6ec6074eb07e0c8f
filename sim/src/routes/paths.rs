//! The URL prefix of each service, as the identity catalog announces them.

/// Cyclades compute.
pub const COMPUTE: &str = "/compute/v2.0";
/// Cyclades block storage.
pub const VOLUME: &str = "/volume/v2.0";
/// Plankton.
pub const IMAGE: &str = "/image/v1.0";
/// Cyclades network.
pub const NETWORK: &str = "/network/v2.0";
