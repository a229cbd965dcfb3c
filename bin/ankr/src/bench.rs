//! `ankr bench`: figures, as ratios against baselines measured in the same run.

#[derive(clap::Args)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("benchmarks are added in the next commit")
}
