//! Header rules of time: how far ahead of the clock a block may be stamped (the rules that
//! follow from the parent alone are `ankr_types::header_rules`).

use ankr_types::Header;
pub use ankr_types::next_base_fee;

/// How far ahead of local time a block's timestamp may be. Short, because each second a
/// block is stamped ahead lowers the next difficulty (ASERT) and lengthens the interval the
/// rate cap allows: 3 s covers NTP-synchronised clocks and whole-second stamps.
pub const MAX_FUTURE_SECONDS: u64 = 3;

/// How far ahead a dev-sealed block may be: a dev sealer in `instant` mode stamps many blocks
/// a second at parent + 1, and no difficulty or rate cap depends on its stamps.
pub const MAX_FUTURE_SECONDS_DEV: u64 = 15;

/// Whether a miner may build on `parent` now: its block, stamped max(now, parent + 1), must
/// stay a second inside [`MAX_FUTURE_SECONDS`] so that peers whose clocks lag a little take it.
pub fn can_build_on(parent: &Header) -> bool {
    parent.timestamp < now_seconds() + MAX_FUTURE_SECONDS - 1
}

/// Wall-clock seconds, as block timestamps count them.
pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
