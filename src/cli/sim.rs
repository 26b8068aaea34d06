//! `simulator` and `demo`.

use std::process::ExitCode;

use anyhow::Context;

use super::out::outln;
use super::{DemoArgs, SimulatorArgs};

pub(super) async fn simulator(args: SimulatorArgs) -> anyhow::Result<ExitCode> {
    use seatkeeper::simulator::{SimOptions, SimState, Simulator, demo_state};
    let state = match &args.state {
        Some(p) => {
            let bytes = seatkeeper::config::read_capped(p, seatkeeper::config::MAX_LISTING_BYTES)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8", p.display()))?;
            let parsed: Result<SimState, String> = if p.extension().is_some_and(|e| e == "json") {
                serde_json::from_str(&text).map_err(|e| e.to_string())
            } else {
                serde_saphyr::from_str(&text).map_err(|e| e.to_string())
            };
            parsed
                .map_err(|e| anyhow::anyhow!("{}: not a simulator state file: {e}", p.display()))?
        }
        None => demo_state(),
    };
    if !(0.0..=1.0).contains(&args.fault_rate) {
        anyhow::bail!(
            "--fault-rate must be between 0 and 1, not {}",
            args.fault_rate
        );
    }
    let opts = SimOptions {
        listen: Some(args.listen),
        fault_seed: args.fault_seed,
        // A soak runs for hours: the default hourly budget would run out.
        rate_limit: u32::MAX as u64,
        ..SimOptions::default()
    };
    let sim = Simulator::start(state, opts)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    if args.fault_rate > 0.0 {
        let p = args.fault_rate / 3.0;
        let faults = sim.faults();
        faults.error_rate("*", 500, p);
        faults.error_rate("*", 502, p);
        faults.add_error_rate(seatkeeper::simulator::ErrorRate {
            route: "*".into(),
            status: 429,
            probability: p,
            headers: vec![("retry-after".into(), "1".into())],
        });
    }
    outln!("simulator listening on {} token={}", sim.url(), sim.token());
    tokio::signal::ctrl_c().await.ok();
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    use seatkeeper::demo::{DemoEnd, DemoOptions, INTERRUPTED};
    let end = seatkeeper::demo::run(DemoOptions {
        config: args.config,
        serve: args.serve,
        listen: args.listen,
        probe_listen: args.probe_listen,
        portal_listen: args.portal_listen,
        interval_secs: args.interval,
        sim_latency: std::time::Duration::from_millis(args.sim_latency_ms),
        protected_branch: args.protected_branch,
    })
    .await?;
    Ok(ExitCode::from(match end {
        DemoEnd::Converged => super::OK,
        DemoEnd::NotConverged => super::ERROR,
        DemoEnd::Interrupted => INTERRUPTED,
    }))
}
