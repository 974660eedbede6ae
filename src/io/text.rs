//! `.csv` and `.tsv`: a numeric matrix without a header (the Embedding Projector's `vectors.tsv`),
//! label columns (`metadata.tsv`) or a table with a header.
//!
//! The first row is a header when one of its cells is not a number while the rest of that
//! column is numbers, or when none of its cells is a number and there are several columns.
//! A single-column file never has one: the Projector reads every line of a single-column
//! `metadata.tsv` as a label, and a header in a multi-column one.

use csv::{ByteRecord, ErrorKind, Reader, ReaderBuilder};

use super::{ArrayData, NamedArray, Parsed, BOM};

pub(super) fn read(stem: &str, bytes: &[u8], delimiter: u8) -> Parsed<(Vec<NamedArray>, bool)> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    match read_numbers(stem, bytes, delimiter)? {
        Some(arrays) => Ok(arrays),
        None => read_cells(bytes, delimiter),
    }
}

/// The records of a file, with line numbers for messages.
struct Rows<'a> {
    bytes: &'a [u8],
    reader: Reader<&'a [u8]>,
}

impl<'a> Rows<'a> {
    fn new(bytes: &'a [u8], delimiter: u8) -> Self {
        let reader = ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(false)
            // The Projector splits TSV lines at tabs and nothing else: a quote there is text.
            .quoting(delimiter != b'\t')
            .from_reader(bytes);
        Rows { bytes, reader }
    }

    /// Reads the next record; false at the end. Ragged rows are errors naming the line.
    fn next(&mut self, record: &mut ByteRecord) -> Parsed<bool> {
        self.reader
            .read_byte_record(record)
            .map_err(|e| match e.kind() {
                ErrorKind::UnequalLengths {
                    pos: Some(pos),
                    expected_len,
                    len,
                } => {
                    format!(
                        "line {} has {len} fields, expected {expected_len}",
                        self.line(pos.byte())
                    )
                }
                _ => e.to_string(),
            })
    }

    /// The 1-based line of the record that csv places at `byte`. (csv's own line count is off
    /// after blank lines and with "\r\n"; a record after blank lines starts at the first one.)
    fn line(&self, byte: u64) -> usize {
        let at = usize::try_from(byte).map_or(self.bytes.len(), |b| b.min(self.bytes.len()));
        let (before, after) = self.bytes.split_at(at);
        let blank_lines = after
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .filter(|&&b| b == b'\n');
        1 + before.iter().filter(|&&b| b == b'\n').count() + blank_lines.count()
    }
}

/// The fast path, for large numeric files: every row after the first holds numbers, which are
/// parsed straight into one buffer without keeping any text. `None` when some cell after the
/// first row is not a number, or when a single column starts with text.
fn read_numbers(
    stem: &str,
    bytes: &[u8],
    delimiter: u8,
) -> Parsed<Option<(Vec<NamedArray>, bool)>> {
    let mut rows = Rows::new(bytes, delimiter);
    let mut first = ByteRecord::new();
    if !rows.next(&mut first)? {
        return Err("the file has no rows".into());
    }
    let cols = first.len().max(1);
    let header = first.iter().any(|cell| parse::<f32>(cell).is_none());
    if header && cols == 1 {
        return Ok(None);
    }
    let mut numbers = Numbers {
        floats: Vec::new(),
        ints: Vec::new(),
        is_int: vec![true; cols],
    };
    if !header {
        numbers.push(&first);
    }
    let mut record = ByteRecord::new();
    while rows.next(&mut record)? {
        if !numbers.push(&record) {
            return Ok(None);
        }
    }
    let Numbers {
        floats,
        ints,
        is_int,
    } = numbers;
    if !header {
        let shape = vec![floats.len() / cols, cols];
        let (data, dtype) = if is_int.iter().all(|&i| i) {
            (ArrayData::Int(ints), "int64")
        } else {
            (ArrayData::Float(floats), "float32")
        };
        return Ok(Some((
            vec![NamedArray {
                name: stem.to_string(),
                shape,
                data,
                dtype: dtype.into(),
            }],
            false,
        )));
    }
    let columns = first
        .iter()
        .zip(is_int)
        .enumerate()
        .map(|(j, (name, is_int))| {
            let name = String::from_utf8(name.to_vec()).map_err(|_| "line 1 is not valid UTF-8")?;
            let (data, dtype) = if is_int {
                (
                    ArrayData::Int(ints.iter().skip(j).step_by(cols).copied().collect()),
                    "int64",
                )
            } else {
                (
                    ArrayData::Float(floats.iter().skip(j).step_by(cols).copied().collect()),
                    "float32",
                )
            };
            Ok(NamedArray {
                name,
                shape: vec![floats.len() / cols],
                data,
                dtype: dtype.into(),
            })
        })
        .collect::<Parsed<_>>()?;
    Ok(Some((columns, true)))
}

/// Numbers in row-major order. Whole-number columns are also kept as i64 so that ids and labels
/// above 2^24 stay exact; that copy is dropped as soon as no column is whole numbers.
struct Numbers {
    floats: Vec<f32>,
    ints: Vec<i64>,
    is_int: Vec<bool>,
}

impl Numbers {
    /// Adds a row; false if one of its cells is not a number.
    fn push(&mut self, record: &ByteRecord) -> bool {
        let track_ints = self.is_int.contains(&true);
        if !track_ints {
            self.ints = Vec::new();
        }
        for (cell, is_int) in record.iter().zip(&mut self.is_int) {
            let Some(value) = parse::<f32>(cell) else {
                return false;
            };
            self.floats.push(value);
            if track_ints {
                let int = if *is_int { parse::<i64>(cell) } else { None };
                *is_int = int.is_some();
                self.ints.push(int.unwrap_or_default());
            }
        }
        true
    }
}

fn parse<T: std::str::FromStr>(cell: &[u8]) -> Option<T> {
    std::str::from_utf8(cell.trim_ascii()).ok()?.parse().ok()
}

/// The general path: every cell as text first, then typed column by column.
fn read_cells(bytes: &[u8], delimiter: u8) -> Parsed<(Vec<NamedArray>, bool)> {
    let mut rows = Rows::new(bytes, delimiter);
    let mut record = ByteRecord::new();
    let mut columns: Vec<Vec<String>> = Vec::new();
    // Where each row starts, to name its line in messages.
    let mut starts = Vec::new();
    while rows.next(&mut record)? {
        let start = record.position().map_or(0, |p| p.byte());
        columns.resize_with(record.len(), Vec::new);
        for (column, cell) in columns.iter_mut().zip(record.iter()) {
            let cell = std::str::from_utf8(cell)
                .map_err(|_| format!("line {} is not valid UTF-8", rows.line(start)))?;
            column.push(cell.to_string());
        }
        starts.push(start);
    }
    let first_is_number = columns
        .iter()
        .map(|c| c.first().is_some_and(|cell| is_number(cell)));
    let header = columns.len() > 1
        && (first_is_number.clone().all(|number| !number)
            || first_is_number.zip(&columns).any(|(number, column)| {
                !number && is_numeric_column(column.get(1..).unwrap_or_default())
            }));
    let starts = starts.get(usize::from(header)..).unwrap_or_default();
    let arrays = columns
        .into_iter()
        .enumerate()
        .map(|(j, cells)| {
            let mut cells = cells.into_iter();
            let name = if header {
                cells.next().unwrap_or_default()
            } else {
                j.to_string()
            };
            typed_column(name, cells.collect(), starts, &rows)
        })
        .collect::<Parsed<_>>()?;
    Ok((arrays, header))
}

fn is_number(cell: &str) -> bool {
    cell.trim().parse::<f64>().is_ok()
}

/// Every non-empty cell is a number, and there is at least one.
fn is_numeric_column(cells: &[String]) -> bool {
    let mut filled = cells.iter().filter(|c| !c.trim().is_empty()).peekable();
    filled.peek().is_some() && filled.all(|c| is_number(c))
}

/// Int if every cell is a whole number, Float if every cell is a number, else Text.
fn typed_column(
    name: String,
    cells: Vec<String>,
    starts: &[u64],
    rows: &Rows,
) -> Parsed<NamedArray> {
    let shape = vec![cells.len()];
    if !is_numeric_column(&cells) {
        return Ok(NamedArray {
            name,
            shape,
            data: ArrayData::Text(cells),
            dtype: "text".into(),
        });
    }
    if let Some((_, &start)) = cells.iter().zip(starts).find(|(c, _)| c.trim().is_empty()) {
        return Err(format!(
            "line {}, column '{name}': empty cell in a column of numbers",
            rows.line(start)
        ));
    }
    let ints: Result<Vec<i64>, _> = cells.iter().map(|c| c.trim().parse()).collect();
    let (data, dtype) = match ints {
        Ok(ints) => (ArrayData::Int(ints), "int64"),
        Err(_) => {
            let floats = cells
                .iter()
                .map(|c| c.trim().parse())
                .collect::<Result<_, _>>();
            (
                ArrayData::Float(floats.map_err(|e| format!("column '{name}': {e}"))?),
                "float32",
            )
        }
    };
    Ok(NamedArray {
        name,
        shape,
        data,
        dtype: dtype.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str, delimiter: u8) -> Parsed<(Vec<NamedArray>, bool)> {
        read("f", text.as_bytes(), delimiter)
    }

    fn names(arrays: &[NamedArray]) -> Vec<&str> {
        arrays.iter().map(|a| a.name.as_str()).collect()
    }

    #[test]
    fn header_rules() {
        // Numbers only: one matrix, no header.
        let (a, table) = read_str("1\t2.5\n3\t4\n", b'\t').unwrap();
        assert_eq!((a[0].shape.as_slice(), table), (&[2, 2][..], false));
        // A text cell above a column of numbers: header.
        let (a, table) = read_str("label,x\ncat,1\ndog,2\n", b',').unwrap();
        assert_eq!((names(&a), table), (vec!["label", "x"], true));
        // Text everywhere, several columns: header.
        let (a, table) = read_str("label\tsplit\ncat\ttrain\n", b'\t').unwrap();
        assert_eq!((names(&a), table), (vec!["label", "split"], true));
        // A single column never has a header, even above numbers.
        let (a, table) = read_str("label\n1\n2\n", b'\t').unwrap();
        assert_eq!(
            (a[0].data.clone(), table),
            (
                ArrayData::Text(vec!["label".into(), "1".into(), "2".into()]),
                false
            )
        );
        // Text rows with a number in the first row: no header, columns by position.
        let (a, table) = read_str("a,1\nb,2\n", b',').unwrap();
        assert_eq!((names(&a), table), (vec!["0", "1"], false));
        assert_eq!(a[1].data, ArrayData::Int(vec![1, 2]));
    }

    #[test]
    fn column_kinds_and_exact_ids() {
        let (a, _) = read_str("id,x,name\n16777217,0.5,a\n2,1,\n", b',').unwrap();
        assert_eq!(a[0].data, ArrayData::Int(vec![16_777_217, 2]));
        assert_eq!(a[1].data, ArrayData::Float(vec![0.5, 1.0]));
        assert_eq!(a[2].data, ArrayData::Text(vec!["a".into(), "".into()]));
        let (a, _) = read_str("16777217\n3\n", b'\t').unwrap();
        assert_eq!(
            (a[0].shape.as_slice(), &a[0].data),
            (&[2, 1][..], &ArrayData::Int(vec![16_777_217, 3]))
        );
    }

    #[test]
    fn tsv_quotes_are_text_and_crlf_bom_are_handled() {
        let (a, _) = read_str("\u{feff}w\tn\r\n\"a\tb\r\n", b'\t').unwrap();
        assert_eq!(a[0].data, ArrayData::Text(vec!["\"a".into()]));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            read_str("a,b\n1,2\n3\n", b',').unwrap_err(),
            "line 3 has 1 fields, expected 2"
        );
        assert_eq!(
            read_str("a,b\r\n1,2\r\n\r\n\n3\r\n", b',').unwrap_err(),
            "line 5 has 1 fields, expected 2"
        );
        let e = read_str("x,y\n1,2\n,3\n", b',').unwrap_err();
        assert_eq!(e, "line 3, column 'x': empty cell in a column of numbers");
    }
}
