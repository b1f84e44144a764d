//! Sorting and searching of the dashboard's tables, independent of the DOM.

use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

impl Direction {
    /// The `aria-sort` value screen readers announce.
    pub fn aria(self) -> &'static str {
        match self {
            Direction::Ascending => "ascending",
            Direction::Descending => "descending",
        }
    }
}

/// Which column a table is sorted by, and which way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortState<C> {
    pub column: C,
    pub direction: Direction,
}

impl<C: PartialEq + Copy> SortState<C> {
    /// A click on a header: the same column flips, another one starts descending, since
    /// the largest (slowest, busiest) rows are the ones people look for.
    pub fn toggled(self, column: C) -> SortState<C> {
        if self.column == column {
            let direction = match self.direction {
                Direction::Ascending => Direction::Descending,
                Direction::Descending => Direction::Ascending,
            };
            SortState { column, direction }
        } else {
            SortState {
                column,
                direction: Direction::Descending,
            }
        }
    }

    pub fn aria_for(self, column: C) -> &'static str {
        if self.column == column {
            self.direction.aria()
        } else {
            "none"
        }
    }
}

/// Orders numbers with missing values last whichever the direction: a route without
/// INP samples is not "the fastest".
pub fn compare_values(a: Option<f64>, b: Option<f64>, direction: Direction) -> Ordering {
    match (a.filter(|v| !v.is_nan()), b.filter(|v| !v.is_nan())) {
        (Some(a), Some(b)) => match direction {
            Direction::Ascending => a.total_cmp(&b),
            Direction::Descending => b.total_cmp(&a),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

pub fn compare_text(a: &str, b: &str, direction: Direction) -> Ordering {
    match direction {
        Direction::Ascending => a.cmp(b),
        Direction::Descending => b.cmp(a),
    }
}

/// Substring search ignoring ASCII case (routes and endpoints are URL paths); an empty
/// query matches everything. Full Unicode case folding would link Unicode's case tables,
/// about 24 KB of a wasm file at its size budget.
pub fn matches_search(text: &str, query: &str) -> bool {
    let query = query.trim();
    query.is_empty()
        || text
            .to_ascii_lowercase()
            .contains(&query.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_toggle() {
        let state = SortState {
            column: 1,
            direction: Direction::Descending,
        };
        let flipped = state.toggled(1);
        assert_eq!(flipped.direction, Direction::Ascending);
        assert_eq!(flipped.toggled(1).direction, Direction::Descending);
        let other = flipped.toggled(2);
        assert_eq!((other.column, other.direction), (2, Direction::Descending));
        assert_eq!(other.aria_for(2), "descending");
        assert_eq!(other.aria_for(1), "none");
    }

    #[test]
    fn missing_values_sort_last_both_ways() {
        let mut values = [Some(2.0), None, Some(9.0), Some(f64::NAN), Some(1.0)];
        values.sort_by(|a, b| compare_values(*a, *b, Direction::Descending));
        assert_eq!(&values[..3], &[Some(9.0), Some(2.0), Some(1.0)]);
        values.sort_by(|a, b| compare_values(*a, *b, Direction::Ascending));
        assert_eq!(&values[..3], &[Some(1.0), Some(2.0), Some(9.0)]);
        assert!(values[3..].iter().all(|v| v.is_none_or(f64::is_nan)));
        assert_eq!(
            compare_text("a", "b", Direction::Descending),
            Ordering::Greater
        );
    }

    #[test]
    fn search_ignores_case_and_blank_queries() {
        assert!(matches_search("/Users/:id", "users"));
        assert!(matches_search("/checkout", "  "));
        assert!(!matches_search("/checkout", "cart"));
    }
}
