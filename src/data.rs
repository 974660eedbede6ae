//! The inputs every algorithm takes: a row-major f32 matrix and per-row class labels.

use crate::error::{Error, Result};
use crate::rng::{Purpose, Rng};

/// Row-major embeddings: `rows` items of `cols` dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::input(format!(
                "matrix of {rows}x{cols} needs {} values, got {}",
                rows.saturating_mul(cols),
                data.len()
            )));
        }
        Ok(Matrix { rows, cols, data })
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The rows `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix { rows: indices.len(), cols: self.cols, data }
    }

    /// Errors on NaN or infinity, naming the first offending cell.
    pub fn check_finite(&self, file: &str) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(p) => Err(Error::parse(
                file,
                format!(
                    "value at row {}, column {} is {} (every value must be a finite number)",
                    p / self.cols.max(1),
                    p % self.cols.max(1),
                    self.data[p]
                ),
            )),
        }
    }
}

/// Class labels as the user wrote them, encoded as indices into `classes`.
///
/// `classes` is sorted: numerically when every label is a number, else as text. This sorted
/// order is also the default class order of a head.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    pub classes: Vec<String>,
    pub codes: Vec<u32>,
}

impl Labels {
    pub fn from_strings<S: AsRef<str>>(values: &[S]) -> Labels {
        let mut classes: Vec<String> = values.iter().map(|v| v.as_ref().to_string()).collect();
        sort_labels(&mut classes);
        classes.dedup();
        let codes = values
            .iter()
            .map(|v| classes.binary_search_by(|c| compare_labels(c, v.as_ref())).unwrap() as u32)
            .collect();
        Labels { classes, codes }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Row indices of each class, in increasing order.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut members = vec![Vec::new(); self.classes.len()];
        for (row, &c) in self.codes.iter().enumerate() {
            members[c as usize].push(row);
        }
        members
    }

    /// The labels of the rows `indices`, keeping the full class list.
    pub fn select_rows(&self, indices: &[usize]) -> Labels {
        Labels { classes: self.classes.clone(), codes: indices.iter().map(|&i| self.codes[i]).collect() }
    }

    /// At most `per_class` rows of each class, drawn uniformly with the seeded RNG
    /// (stream: [`Purpose::Subsample`], index = class); sorted row indices. `None` when no
    /// class is larger than `per_class`, so nothing needs to be dropped.
    pub fn stratified_subsample(&self, per_class: usize, seed: u64) -> Option<Vec<usize>> {
        let members = self.members();
        if members.iter().all(|m| m.len() <= per_class) {
            return None;
        }
        let mut rows: Vec<usize> = Vec::new();
        for (c, m) in members.iter().enumerate() {
            if m.len() <= per_class {
                rows.extend(m);
            } else {
                let mut rng = Rng::new(seed, Purpose::Subsample, 0, c as u32);
                rows.extend(rng.sample_distinct(m.len() as u64, per_class as u64).into_iter().map(|p| m[p as usize]));
            }
        }
        rows.sort_unstable();
        Some(rows)
    }

    pub fn check_rows(&self, rows: usize, what: &str) -> Result<()> {
        if self.len() != rows {
            return Err(Error::input(format!(
                "{what} has {} labels but the embeddings have {rows} rows",
                self.len()
            )));
        }
        Ok(())
    }
}

fn sort_labels(labels: &mut [String]) {
    labels.sort_by(|a, b| compare_labels(a, b));
}

/// Numbers before text; numbers by value, text by bytes. Total, so sorting is deterministic.
pub fn compare_labels(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) if x.is_finite() && y.is_finite() => {
            x.partial_cmp(&y).unwrap().then_with(|| a.cmp(b))
        }
        (Ok(x), Err(_)) if x.is_finite() => std::cmp::Ordering::Less,
        (Err(_), Ok(y)) if y.is_finite() => std::cmp::Ordering::Greater,
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_sort_numbers_by_value_and_keep_row_codes() {
        let l = Labels::from_strings(&["10", "9", "cat", "9", "2"]);
        assert_eq!(l.classes, vec!["2", "9", "10", "cat"]);
        assert_eq!(l.codes, vec![2, 1, 3, 1, 0]);
        assert_eq!(l.members()[1], vec![1, 3]);
    }

    #[test]
    fn non_finite_values_are_reported_with_position() {
        let m = Matrix::new(2, 2, vec![0.0, 1.0, f32::NAN, 2.0]).unwrap();
        let e = m.check_finite("x.npy").unwrap_err().to_string();
        assert!(e.contains("x.npy") && e.contains("row 1, column 0"), "{e}");
    }
}
