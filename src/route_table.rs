//! Rows of the Pages view: one per route, with the p75 and sample count of each vital,
//! merged from one breakdown per vital.

use perfscope_model::{BreakdownRow, VitalName};

#[derive(Clone, Debug, PartialEq)]
pub struct RouteRow {
    pub route: String,
    /// `p75` and count per vital, in [`VitalName::ALL`] order.
    pub vitals: [(Option<f64>, u64); 5],
}

impl RouteRow {
    /// Page views, as counted by the vital every page view reports first (TTFB), or the
    /// largest count when that is missing.
    pub fn samples(&self) -> u64 {
        self.vitals
            .iter()
            .map(|(_, count)| *count)
            .max()
            .unwrap_or(0)
    }

    pub fn p75(&self, name: VitalName) -> Option<f64> {
        VitalName::ALL
            .iter()
            .position(|n| *n == name)
            .and_then(|i| self.vitals[i].0)
    }
}

/// Merges per-vital breakdowns (`(vital, rows)`) into one row per route, busiest first.
pub fn merge_breakdowns(breakdowns: Vec<(VitalName, Vec<BreakdownRow>)>) -> Vec<RouteRow> {
    let mut rows: Vec<RouteRow> = Vec::new();
    for (name, breakdown) in breakdowns {
        let Some(slot) = VitalName::ALL.iter().position(|n| *n == name) else {
            continue;
        };
        for row in breakdown {
            let index = match rows.iter().position(|r| r.route == row.key) {
                Some(index) => index,
                None => {
                    rows.push(RouteRow {
                        route: row.key.clone(),
                        vitals: [(None, 0); 5],
                    });
                    rows.len() - 1
                }
            };
            rows[index].vitals[slot] = (row.summary.p75, row.summary.count);
        }
    }
    rows.sort_by(|a, b| {
        b.samples()
            .cmp(&a.samples())
            .then_with(|| a.route.cmp(&b.route))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::VitalSummary;

    fn row(key: &str, name: VitalName, count: u64, p75: f64) -> BreakdownRow {
        BreakdownRow {
            key: key.into(),
            summary: VitalSummary {
                name,
                count,
                p50: None,
                p75: Some(p75),
                p90: None,
                p95: None,
                p99: None,
                good: count,
                needs_improvement: 0,
                poor: 0,
            },
        }
    }

    #[test]
    fn one_row_per_route_with_every_vital() {
        let rows = merge_breakdowns(vec![
            (
                VitalName::Lcp,
                vec![
                    row("/a", VitalName::Lcp, 3, 1200.0),
                    row("/b", VitalName::Lcp, 9, 900.0),
                ],
            ),
            (VitalName::Cls, vec![row("/a", VitalName::Cls, 2, 0.05)]),
            (VitalName::Fid, vec![row("/c", VitalName::Fid, 1, 5.0)]),
        ]);
        assert_eq!(rows.len(), 2, "legacy FID is not a column");
        assert_eq!(rows[0].route, "/b", "busiest first");
        assert_eq!(rows[1].p75(VitalName::Lcp), Some(1200.0));
        assert_eq!(rows[1].p75(VitalName::Cls), Some(0.05));
        assert_eq!(rows[1].p75(VitalName::Inp), None);
        assert_eq!(rows[1].samples(), 3);
    }
}
