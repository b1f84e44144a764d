//! The host sampler: CPU (total and per core), load, memory and swap, disk usage and
//! I/O per mount, network traffic, and the collector's own RSS, CPU and open files,
//! read through sysinfo.

use crate::alerts::metrics::{CPU_SERIES, DISK_SERIES, MEMORY_SERIES};
use crate::timeseries::Sample;
use std::collections::BTreeMap;
use sysinfo::{Disks, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};
use tokio::time::Instant;

pub struct SystemSampler {
    system: System,
    disks: Disks,
    networks: Networks,
    pid: Option<Pid>,
    last: Instant,
}

impl Default for SystemSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemSampler {
    /// Takes the first readings; rates and CPU shares are measured from here.
    pub fn new() -> SystemSampler {
        let mut system = System::new();
        system.refresh_cpu_usage();
        system.refresh_memory();
        let pid = sysinfo::get_current_pid().ok();
        if let Some(pid) = pid {
            system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::everything(),
            );
        }
        SystemSampler {
            system,
            disks: Disks::new_with_refreshed_list(),
            networks: Networks::new_with_refreshed_list(),
            pid,
            last: Instant::now(),
        }
    }

    /// One reading of everything, as series name → value. Rates are per second since
    /// the previous call.
    pub fn sample(&mut self) -> BTreeMap<String, f64> {
        let now = Instant::now();
        let seconds = now.duration_since(self.last).as_secs_f64().max(0.001);
        self.last = now;
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let mut values = BTreeMap::new();
        let mut put = |name: String, value: f64| {
            if value.is_finite() {
                values.insert(name, value);
            }
        };

        put(CPU_SERIES.into(), f64::from(self.system.global_cpu_usage()));
        for (i, cpu) in self.system.cpus().iter().enumerate() {
            put(
                format!("system.cpu.core{i}_percent"),
                f64::from(cpu.cpu_usage()),
            );
        }
        let load = System::load_average();
        put("system.load.1m".into(), load.one);
        put("system.load.5m".into(), load.five);
        put("system.load.15m".into(), load.fifteen);

        let percent = |used: u64, total: u64| {
            if total == 0 {
                0.0
            } else {
                used as f64 * 100.0 / total as f64
            }
        };
        let (used, total) = (self.system.used_memory(), self.system.total_memory());
        put("system.memory.used_bytes".into(), used as f64);
        put("system.memory.total_bytes".into(), total as f64);
        put(MEMORY_SERIES.into(), percent(used, total));
        let (used, total) = (self.system.used_swap(), self.system.total_swap());
        put("system.swap.used_bytes".into(), used as f64);
        put("system.swap.used_percent".into(), percent(used, total));

        let mut max_disk = 0.0f64;
        for disk in self.disks.list() {
            let total = disk.total_space();
            if total == 0 {
                continue;
            }
            let mount = mount_key(&disk.mount_point().to_string_lossy());
            let used_percent = percent(total - disk.available_space(), total);
            max_disk = max_disk.max(used_percent);
            let usage = disk.usage();
            put(format!("system.disk.{mount}.used_percent"), used_percent);
            put(
                format!("system.disk.{mount}.read_bytes_per_s"),
                usage.read_bytes as f64 / seconds,
            );
            put(
                format!("system.disk.{mount}.written_bytes_per_s"),
                usage.written_bytes as f64 / seconds,
            );
        }
        put(DISK_SERIES.into(), max_disk);

        let (mut rx, mut tx) = (0u64, 0u64);
        for (_, network) in self.networks.iter() {
            rx += network.received();
            tx += network.transmitted();
        }
        put("system.net.rx_bytes_per_s".into(), rx as f64 / seconds);
        put("system.net.tx_bytes_per_s".into(), tx as f64 / seconds);

        if let Some(pid) = self.pid {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::everything(),
            );
            if let Some(process) = self.system.process(pid) {
                put("process.rss_bytes".into(), process.memory() as f64);
                put("process.cpu_percent".into(), f64::from(process.cpu_usage()));
                if let Some(open) = process.open_files() {
                    put("process.open_files".into(), open as f64);
                }
            }
        }
        values
    }

    pub fn samples(values: &BTreeMap<String, f64>, ts: i64) -> Vec<Sample> {
        values
            .iter()
            .map(|(name, value)| Sample::new(name.clone(), ts, *value))
            .collect()
    }
}

/// A mount point as a series-name segment: `/` is `root`, `/var/lib` is `var_lib`.
fn mount_key(mount: &str) -> String {
    let trimmed = mount.trim_matches('/');
    if trimmed.is_empty() {
        return "root".into();
    }
    trimmed
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sample_reads_this_host() {
        let mut sampler = SystemSampler::new();
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let values = sampler.sample();
        assert!(values[CPU_SERIES] >= 0.0 && values[CPU_SERIES] <= 100.0);
        assert!(values.contains_key("system.cpu.core0_percent"));
        assert!(values["system.memory.total_bytes"] > 0.0);
        assert!(values[MEMORY_SERIES] > 0.0 && values[MEMORY_SERIES] <= 100.0);
        assert!(values["process.rss_bytes"] > 1e6, "{values:?}");
        assert!(values["process.open_files"] >= 3.0, "{values:?}");
        assert!(values.contains_key("system.net.rx_bytes_per_s"));
        assert!(values.contains_key("system.load.1m"));
        assert_eq!(mount_key("/"), "root");
        assert_eq!(mount_key("/var/lib"), "var_lib");
    }
}
