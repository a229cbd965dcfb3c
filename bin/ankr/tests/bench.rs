//! `ankr bench --short`: every built-in group runs to its end at a small size, so that none can
//! stop working unnoticed again (issue 16 found one that had not run past `rpc` for weeks).

use std::process::Command;

#[test]
fn every_bench_group_runs_to_its_end_in_short_mode() {
    let output = Command::new(env!("CARGO_BIN_EXE_ankr"))
        .args(["bench", "--short"])
        .output()
        .expect("ankr runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "ankr bench --short failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let groups = [
        "execution",
        "execute",
        "rpc",
        "child",
        "state-root",
        "pouw",
        "network",
        "sync",
        "oracle",
        "plasma",
    ];
    for (k, group) in groups.iter().enumerate() {
        let heading = format!("-- group {} of {}: {group}", k + 1, groups.len());
        assert!(stdout.contains(&heading), "no {heading:?} in\n{stdout}");
    }
    // Each group prints its figures; a few that show the group got to its end.
    for figure in [
        "ratio = raw revm time / node time",
        "per-block root",
        "baseline: in-memory HashBuilder",
    ] {
        assert!(stdout.contains(figure), "no {figure:?} in\n{stdout}");
    }
}
