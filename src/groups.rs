//! Groups for the memorization analyses (SPEC §4; You et al. 2025): group g = (label,
//! spurious attribute), or an explicit group id; minority groups; a head's accuracy per group
//! on the training and the test rows.

use crate::data::{Labels, Matrix};
use crate::error::{Error, Result};
use crate::heads::{argmax, Dense};
use serde::Serialize;

/// Rows of one layer with their label, group and split.
pub struct GroupedData {
    pub x: Matrix,
    pub labels: Labels,
    /// Group index of every row, into `groups`.
    pub group: Vec<u32>,
    pub groups: Vec<GroupInfo>,
    pub train: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupInfo {
    /// "y=<label>, a=<attr>", or the explicit group id.
    pub group: String,
    pub label: String,
    /// The spurious attribute ("" when groups were given explicitly).
    pub attr: String,
    pub minority: bool,
    pub n_train: usize,
    pub n_test: usize,
}

impl GroupedData {
    /// Groups from (label, attribute) or from an explicit group column. A group is a minority
    /// when its share of the training rows is below 1/(number of groups), unless `minority`
    /// names the minority groups explicitly.
    pub fn new(
        x: Matrix,
        labels: Labels,
        attr: Option<&[String]>,
        explicit_group: Option<&[String]>,
        train: Vec<bool>,
        minority: Option<&[String]>,
    ) -> Result<GroupedData> {
        let n = x.rows;
        labels.check_rows(n, "the label list")?;
        if train.len() != n {
            return Err(Error::input(format!("the split has {} rows but the embeddings have {n}", train.len())));
        }
        if !train.iter().any(|&t| t) || train.iter().all(|&t| t) {
            return Err(Error::input("the split must mark some rows as train and some as test"));
        }
        let keys: Vec<(String, String, String)> = match (explicit_group, attr) {
            (Some(g), _) => {
                check_len(g.len(), n, "the group column")?;
                (0..n).map(|i| (g[i].clone(), labels.classes[labels.codes[i] as usize].clone(), String::new())).collect()
            }
            (None, Some(a)) => {
                check_len(a.len(), n, "the attribute column")?;
                (0..n)
                    .map(|i| {
                        let label = labels.classes[labels.codes[i] as usize].clone();
                        (format!("y={label}, a={}", a[i]), label, a[i].clone())
                    })
                    .collect()
            }
            (None, None) => return Err(Error::input("give a spurious attribute or a group column")),
        };
        // One entry per group id; an explicit id may hold rows of several labels, listed together.
        let mut by_name: Vec<(String, Vec<String>, String)> = Vec::new();
        for (name, label, attr) in &keys {
            match by_name.iter_mut().find(|g| g.0 == *name) {
                Some(g) if !g.1.contains(label) => g.1.push(label.clone()),
                Some(_) => {}
                None => by_name.push((name.clone(), vec![label.clone()], attr.clone())),
            }
        }
        for g in by_name.iter_mut() {
            g.1.sort_by(|a, b| crate::data::compare_labels(a, b));
        }
        by_name.sort_by(|a, b| {
            crate::data::compare_labels(&a.1[0], &b.1[0]).then_with(|| crate::data::compare_labels(&a.2, &b.2)).then_with(|| a.0.cmp(&b.0))
        });
        let mut groups: Vec<GroupInfo> = by_name
            .into_iter()
            .map(|(group, labels, attr)| GroupInfo { group, label: labels.join(", "), attr, minority: false, n_train: 0, n_test: 0 })
            .collect();
        let group: Vec<u32> = keys.iter().map(|k| groups.iter().position(|g| g.group == k.0).unwrap() as u32).collect();
        for (i, &g) in group.iter().enumerate() {
            if train[i] {
                groups[g as usize].n_train += 1;
            } else {
                groups[g as usize].n_test += 1;
            }
        }
        let n_train = train.iter().filter(|&&t| t).count() as f64;
        let count = groups.len() as f64;
        for g in groups.iter_mut() {
            g.minority = match minority {
                Some(names) => names.iter().any(|m| *m == g.group),
                None => (g.n_train as f64) / n_train < 1.0 / count,
            };
        }
        if let Some(names) = minority {
            if let Some(unknown) = names.iter().find(|m| !groups.iter().any(|g| g.group == **m)) {
                let known: Vec<&str> = groups.iter().map(|g| g.group.as_str()).collect();
                return Err(Error::input(format!("no group named '{unknown}'; groups are: {}", known.join("; "))));
            }
        }
        Ok(GroupedData { x, labels, group, groups, train })
    }

    pub fn rows(&self, train: bool) -> Vec<usize> {
        (0..self.x.rows).filter(|&r| self.train[r] == train).collect()
    }
}

fn check_len(len: usize, n: usize, what: &str) -> Result<()> {
    if len != n {
        return Err(Error::input(format!("{what} has {len} rows but the embeddings have {n}")));
    }
    Ok(())
}

/// Logits of a dense head for every row (rows × outputs, row-major).
pub fn logits(head: &Dense, x: &Matrix) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.rows * head.outputs());
    let mut buffer = Vec::new();
    let mut row = vec![0.0; x.cols];
    for r in 0..x.rows {
        row.iter_mut().zip(x.row(r)).for_each(|(o, &v)| *o = v as f64);
        head.apply(&row, &mut buffer);
        out.extend_from_slice(&buffer);
    }
    out
}

/// Whether each row's argmax matches its class (head outputs in class-code order).
pub fn correct(logits: &[f64], outputs: usize, codes: &[u32]) -> Vec<bool> {
    logits.chunks(outputs).zip(codes).map(|(z, &c)| argmax(z) == c as usize).collect()
}

/// Accuracy per group and split, with the worst and the average over rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracies {
    /// Per group (same order as the groups): accuracy on training and on test rows.
    pub train: Vec<f64>,
    pub test: Vec<f64>,
    pub worst_group_train: f64,
    pub worst_group_test: f64,
    /// Accuracy over all training (test) rows.
    pub average_train: f64,
    pub average_test: f64,
}

pub fn accuracies(data: &GroupedData, correct: &[bool]) -> Accuracies {
    let k = data.groups.len();
    let mut hits = vec![[0usize; 2]; k];
    let mut totals = vec![[0usize; 2]; k];
    for (i, &ok) in correct.iter().enumerate() {
        let split = if data.train[i] { 0 } else { 1 };
        totals[data.group[i] as usize][split] += 1;
        hits[data.group[i] as usize][split] += ok as usize;
    }
    let rate = |s: usize| -> Vec<f64> {
        (0..k).map(|g| if totals[g][s] == 0 { f64::NAN } else { hits[g][s] as f64 / totals[g][s] as f64 }).collect()
    };
    let (train, test) = (rate(0), rate(1));
    let worst = |v: &[f64]| v.iter().filter(|a| !a.is_nan()).fold(f64::INFINITY, |m, &a| m.min(a));
    let average = |s: usize| {
        let h: usize = hits.iter().map(|x| x[s]).sum();
        let t: usize = totals.iter().map(|x| x[s]).sum();
        h as f64 / t.max(1) as f64
    };
    Accuracies {
        worst_group_train: worst(&train),
        worst_group_test: worst(&test),
        average_train: average(0),
        average_test: average(1),
        train,
        test,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_minorities_and_accuracies() {
        let x = Matrix::new(8, 1, vec![0.0; 8]).unwrap();
        let labels = Labels::from_strings(&["0", "0", "0", "1", "1", "1", "0", "1"]);
        let attr: Vec<String> = ["0", "0", "1", "1", "1", "1", "1", "0"].iter().map(|s| s.to_string()).collect();
        let train = vec![true, true, true, true, true, true, false, false];
        let data = GroupedData::new(x, labels, Some(&attr), None, train, None).unwrap();
        let names: Vec<&str> = data.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, vec!["y=0, a=0", "y=0, a=1", "y=1, a=0", "y=1, a=1"]);
        // Train shares: 2/6, 1/6, 0/6, 3/6 against 1/4.
        let minority: Vec<bool> = data.groups.iter().map(|g| g.minority).collect();
        assert_eq!(minority, vec![false, true, true, false]);
        let correct = vec![true, true, false, true, true, false, true, false];
        let acc = accuracies(&data, &correct);
        assert_eq!(acc.train[0], 1.0);
        assert_eq!(acc.train[1], 0.0);
        assert!(acc.train[2].is_nan());
        assert_eq!(acc.worst_group_train, 0.0);
        // Test rows: row 6 is group (0, 1), right; row 7 is group (1, 0), wrong.
        assert!(acc.test[0].is_nan() && acc.test[3].is_nan());
        assert_eq!((acc.test[1], acc.test[2]), (1.0, 0.0));
        assert_eq!(acc.train[3], 2.0 / 3.0);
        assert_eq!((acc.average_train, acc.average_test), (4.0 / 6.0, 0.5));
        assert_eq!(acc.worst_group_test, 0.0);
    }
}
