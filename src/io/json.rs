//! `.json`: a list of rows (a matrix; a table when the rows are objects), a list of single
//! values, or an object whose values are such lists. Keys come in sorted order.

use std::collections::BTreeSet;

use serde_json::{Number, Value};

use super::{ArrayData, NamedArray, Parsed, BOM};

pub(super) fn read(stem: &str, bytes: &[u8]) -> Parsed<(Vec<NamedArray>, bool)> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    match value {
        Value::Array(rows) if rows.first().is_some_and(Value::is_object) => {
            Ok((table(&rows)?, true))
        }
        Value::Array(items) => Ok((vec![list(stem, &items)?], false)),
        Value::Object(members) if !members.is_empty() => {
            let arrays = members
                .iter()
                .map(|(key, value)| match value {
                    Value::Array(items) => list(key, items).map_err(|e| format!("'{key}': {e}")),
                    other => Err(format!("'{key}' holds {}, expected a list", kind(other))),
                })
                .collect::<Parsed<_>>()?;
            Ok((arrays, false))
        }
        other => Err(format!(
            "expected a list or an object of lists, found {}",
            kind(&other)
        )),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A list of single values (1-D) or of equally long rows of numbers (2-D).
fn list(name: &str, items: &[Value]) -> Parsed<NamedArray> {
    if items.is_empty() {
        return Err("the list is empty".into());
    }
    if !items.iter().any(Value::is_array) {
        return column(name.to_string(), items.iter().map(Some).collect());
    }
    let cols = items.first().and_then(Value::as_array).map_or(0, Vec::len);
    let mut numbers = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Array(row) = item else {
            return Err(format!(
                "row [{i}] is {}, but other rows are lists",
                kind(item)
            ));
        };
        if row.len() != cols {
            return Err(format!(
                "row [{i}] has {} values, expected {cols}",
                row.len()
            ));
        }
        for (j, value) in row.iter().enumerate() {
            match value {
                Value::Number(n) => numbers.push(n),
                Value::Array(_) | Value::Object(_) => {
                    return Err(format!(
                        "row [{i}] holds {}: nested too deep, only 1-D and 2-D lists are read",
                        kind(value)
                    ))
                }
                _ => {
                    return Err(format!(
                        "row [{i}], value [{j}] is {}, expected a number",
                        kind(value)
                    ))
                }
            }
        }
    }
    let (data, dtype) = numeric(&numbers);
    Ok(NamedArray {
        name: name.to_string(),
        shape: vec![items.len(), cols],
        data,
        dtype: dtype.into(),
    })
}

/// A list of objects: one column per key.
fn table(rows: &[Value]) -> Parsed<Vec<NamedArray>> {
    let mut keys = BTreeSet::new();
    for (i, row) in rows.iter().enumerate() {
        let Value::Object(fields) = row else {
            return Err(format!(
                "row [{i}] is {}, but the first row is an object",
                kind(row)
            ));
        };
        keys.extend(fields.keys());
    }
    keys.into_iter()
        .map(|key| column(key.clone(), rows.iter().map(|row| row.get(key)).collect()))
        .collect()
}

/// One value per row: numbers, or text when some value is a string or a boolean. Null (or a
/// missing key) is an empty cell, which only text allows.
fn column(name: String, values: Vec<Option<&Value>>) -> Parsed<NamedArray> {
    let shape = vec![values.len()];
    let mut numbers = Vec::new();
    let mut text = false;
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(Value::Number(n)) => numbers.push(n),
            Some(Value::String(_) | Value::Bool(_)) => text = true,
            Some(Value::Null) | None => {}
            Some(nested) => {
                return Err(format!(
                    "row [{i}] of '{name}' is {}: nested too deep",
                    kind(nested)
                ))
            }
        }
    }
    if text || numbers.is_empty() {
        let cells = values
            .into_iter()
            .map(|value| match value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            })
            .collect();
        return Ok(NamedArray {
            name,
            shape,
            data: ArrayData::Text(cells),
            dtype: "text".into(),
        });
    }
    if let Some(i) = values
        .iter()
        .position(|v| !matches!(v, Some(Value::Number(_))))
    {
        return Err(format!(
            "row [{i}] of '{name}' is null or missing, in a column of numbers"
        ));
    }
    let (data, dtype) = numeric(&numbers);
    Ok(NamedArray {
        name,
        shape,
        data,
        dtype: dtype.into(),
    })
}

/// Int when every number is a whole number that fits an i64, else Float (narrowed to f32).
fn numeric(numbers: &[&Number]) -> (ArrayData, &'static str) {
    match numbers
        .iter()
        .map(|n| n.as_i64())
        .collect::<Option<Vec<_>>>()
    {
        Some(ints) => (ArrayData::Int(ints), "int64"),
        None => (
            ArrayData::Float(
                numbers
                    .iter()
                    .map(|n| n.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect(),
            ),
            "float32",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> Parsed<(Vec<NamedArray>, bool)> {
        read("f", text.as_bytes())
    }

    #[test]
    fn shapes_of_json() {
        let (a, _) = read_str("[[1, 2.5], [3, 4]]").unwrap();
        assert_eq!(
            (a[0].name.as_str(), a[0].shape.as_slice()),
            ("f", &[2, 2][..])
        );
        let (a, table) = read_str(r#"[{"y": "a", "x": 1}, {"x": 2, "y": null}]"#).unwrap();
        assert!(table);
        assert_eq!(a[0].data, ArrayData::Int(vec![1, 2]));
        assert_eq!(a[1].data, ArrayData::Text(vec!["a".into(), "".into()]));
        let (a, _) = read_str(r#"{"b": ["x", 2], "a": [[1.5]]}"#).unwrap();
        assert_eq!(a[0].shape, [1, 1]);
        assert_eq!(a[1].data, ArrayData::Text(vec!["x".into(), "2".into()]));
    }

    #[test]
    fn json_errors() {
        for (text, message) in [
            ("[[1, 2], [3]]", "row [1] has 1 values, expected 2"),
            ("[[[1]]]", "nested too deep"),
            (
                r#"{"a": [[[1]]]}"#,
                "'a': row [0] holds a list: nested too deep",
            ),
            ("[1, [2]]", "row [0] is a number"),
            ("[]", "the list is empty"),
            ("3", "found a number"),
            ("{}", "found an object"),
            (
                r#"[{"x": 1}, {"y": 2}]"#,
                "row [1] of 'x' is null or missing",
            ),
            ("[1, 2", "invalid JSON"),
        ] {
            let e = read_str(text).unwrap_err();
            assert!(e.contains(message), "{text}: {e}");
        }
    }
}
