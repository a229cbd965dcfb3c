//! Prometheus metrics at `GET /metrics` on the JSON-RPC port: the node's head, pool, peers,
//! sync, imports, reorganisations and useful work, in the text exposition format (version
//! 0.0.4), so any Prometheus scrapes a node, a child chain's operator or follower as they are.
//! The names are documented in `docs/metrics.md`.

use ankr_chain::Chain;
use ankr_network::NetworkStatus;
use ankr_pouw::stats::MiningStats;
use ankr_prometheus::metric;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

pub use ankr_prometheus::METRICS_PATH;

/// What the metrics read: the chain, and the miner and network when the node has them.
#[derive(Clone)]
pub struct MetricsSource {
    pub chain: Arc<Chain>,
    pub mining: Option<Arc<MiningStats>>,
    pub network: Option<NetworkStatus>,
}

impl MetricsSource {
    /// The exposition text now.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let spec = self.chain.spec();
        let _ = writeln!(out, "# HELP ankr_node_info The node's chain and version.");
        let _ = writeln!(out, "# TYPE ankr_node_info gauge");
        let _ = writeln!(
            out,
            "ankr_node_info{{chain=\"{}\",chain_id=\"{}\",version=\"{}\"}} 1",
            spec.name.replace(['"', '\\', '\n'], "_"),
            spec.chain_id,
            env!("CARGO_PKG_VERSION")
        );
        let head = self.chain.head();
        metric(
            &mut out,
            "ankr_head_number",
            "gauge",
            "Number of the head block.",
            head.number,
        );
        metric(
            &mut out,
            "ankr_head_timestamp_seconds",
            "gauge",
            "Timestamp of the head block.",
            head.timestamp,
        );
        metric(
            &mut out,
            "ankr_pool_transactions",
            "gauge",
            "Transactions waiting in the pool.",
            self.chain.pool_size(),
        );
        let counts = self.chain.metrics();
        metric(
            &mut out,
            "ankr_blocks_imported_total",
            "counter",
            "Blocks made elsewhere and imported since start.",
            counts.blocks_imported,
        );
        let _ = writeln!(
            out,
            "# HELP ankr_block_import_seconds Time to check and store an imported block."
        );
        let _ = writeln!(out, "# TYPE ankr_block_import_seconds summary");
        let _ = writeln!(
            out,
            "ankr_block_import_seconds_sum {}",
            counts.import_time.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "ankr_block_import_seconds_count {}",
            counts.blocks_imported
        );
        metric(
            &mut out,
            "ankr_blocks_built_total",
            "counter",
            "Blocks this node built and sealed since start.",
            counts.blocks_built,
        );
        metric(
            &mut out,
            "ankr_templates_reused_total",
            "counter",
            "Sealed templates of this node imported without running them again since start.",
            counts.templates_reused,
        );
        metric(
            &mut out,
            "ankr_transactions_executed_total",
            "counter",
            "Transactions of blocks this node built or imported and executed, since start.",
            counts.transactions_executed,
        );
        metric(
            &mut out,
            "ankr_transactions_on_two_threads_total",
            "counter",
            "Of those, transactions run on two threads and kept (a block's conflict-free prefix), since start.",
            counts.transactions_on_two_threads,
        );
        metric(
            &mut out,
            "ankr_blocks_refused_total",
            "counter",
            "Blocks refused for breaking a rule since start.",
            counts.blocks_refused,
        );
        metric(
            &mut out,
            "ankr_reorganisations_total",
            "counter",
            "Reorganisations onto a heavier branch since start.",
            counts.reorganisations,
        );
        metric(
            &mut out,
            "ankr_reorganised_blocks_total",
            "counter",
            "Blocks unwound by reorganisations since start.",
            counts.reorganised_blocks,
        );
        metric(
            &mut out,
            "ankr_failed_reorganisations_total",
            "counter",
            "Reorganisations abandoned on an invalid branch block since start.",
            self.chain.failed_reorganisations(),
        );
        metric(
            &mut out,
            "ankr_bad_blocks",
            "gauge",
            "Blocks kept whose seal held but which broke a rule (debug_getBadBlocks).",
            self.chain.bad_blocks().len(),
        );
        if let Some(network) = &self.network {
            metric(
                &mut out,
                "ankr_peers",
                "gauge",
                "Connected peers.",
                network.peer_count(),
            );
            metric(
                &mut out,
                "ankr_banned_peers",
                "gauge",
                "Peers banned for breaking the protocol.",
                network.banned_count(),
            );
            let syncing = network.syncing(head.number);
            metric(
                &mut out,
                "ankr_syncing",
                "gauge",
                "1 while the node is behind the highest head a peer claims.",
                u8::from(syncing.is_some()),
            );
            metric(
                &mut out,
                "ankr_sync_highest_block",
                "gauge",
                "The highest head a peer claims (the head itself when in sync).",
                syncing.map_or(head.number, |s| s.highest),
            );
        }
        if let Some(mining) = &self.mining {
            let counters = [
                (
                    "ankr_pouw_subtasks_total",
                    "Useful-work subtasks run.",
                    &mining.subtasks,
                ),
                (
                    "ankr_pouw_instructions_total",
                    "Useful-work instructions run (the lottery's tickets).",
                    &mining.instructions,
                ),
                (
                    "ankr_pouw_wins_total",
                    "Subtasks whose draw won a block.",
                    &mining.wins,
                ),
                (
                    "ankr_pouw_failed_subtasks_total",
                    "Subtasks whose task failed (trap, budget, memory).",
                    &mining.failed_subtasks,
                ),
            ];
            for (name, help, value) in counters {
                metric(&mut out, name, "counter", help, value.load(Relaxed));
            }
            metric(
                &mut out,
                "ankr_pouw_busy_seconds_total",
                "counter",
                "Time spent running useful work.",
                mining.busy_nanos.load(Relaxed) as f64 / 1e9,
            );
        }
        out
    }
}
