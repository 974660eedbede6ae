//! `.npy`: numpy's array format, versions 1.0, 2.0 and 3.0.
//!
//! Layout: magic, version, header length, a Python dict literal
//! (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`), then the raw values.

use super::element::{chunks, Element};
use super::{check_dimensions, shape_text, ArrayData, NamedArray, Parsed};

pub(super) const MAGIC: &[u8] = b"\x93NUMPY";

/// A version 1.0 `.npy` file with this header dict and these data bytes, the header padded
/// as numpy pads it (for tests, benchmarks and generated data; the core only reads).
pub fn npy_v1(header: &str, data: &[u8]) -> Vec<u8> {
    let mut header = header.to_string();
    while (MAGIC.len() + 4 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = MAGIC.to_vec();
    bytes.extend([1, 0]);
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

/// A little-endian float32 matrix (`cols` = 0: a vector) as a version 1.0 `.npy` file.
pub fn npy_f32(rows: usize, cols: usize, data: &[f32]) -> Vec<u8> {
    let shape = if cols == 0 { format!("({rows},)") } else { format!("({rows}, {cols})") };
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy_v1(&format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"), &bytes)
}

/// What one value of the array is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dtype {
    Number(Element),
    /// UTF-32 code points, `n` per value, padded with NULs.
    Unicode(usize),
    /// Bytes, `n` per value, padded with NULs.
    Bytes(usize),
}

impl Dtype {
    fn item_size(self) -> Option<usize> {
        match self {
            Dtype::Number(e) => Some(e.size()),
            Dtype::Unicode(n) => n.checked_mul(4),
            Dtype::Bytes(n) => Some(n),
        }
    }

    fn name(self) -> String {
        match self {
            Dtype::Number(e) => e.name().into(),
            Dtype::Unicode(n) => format!("str{n}"),
            Dtype::Bytes(n) => format!("bytes{n}"),
        }
    }
}

/// Reads one `.npy` file (or `.npz` member) as the array `name`.
pub(super) fn read(name: &str, bytes: &[u8]) -> Parsed<NamedArray> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a .npy file: it does not start with the magic bytes \\x93NUMPY")?;
    let truncated = || "truncated inside the header".to_string();
    let (&[major, minor], rest) = rest.split_first_chunk::<2>().ok_or_else(truncated)?;
    let (header_len, rest) = match major {
        1 => rest
            .split_first_chunk::<2>()
            .map(|(n, r)| (usize::from(u16::from_le_bytes(*n)), r)),
        2 | 3 => rest
            .split_first_chunk::<4>()
            .map(|(n, r)| (u32::from_le_bytes(*n) as usize, r)),
        _ => {
            return Err(format!(
                "unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are read)"
            ))
        }
    }
    .ok_or_else(truncated)?;
    let (header, data) = rest.split_at_checked(header_len).ok_or_else(|| {
        format!(
            "truncated: the header should be {header_len} bytes but only {} follow",
            rest.len()
        )
    })?;
    // Versions 1 and 2 store the header in latin-1, version 3 in UTF-8.
    let header: String = if major == 3 {
        std::str::from_utf8(header)
            .map_err(|_| "the header is not valid UTF-8")?
            .to_string()
    } else {
        header.iter().map(|&b| char::from(b)).collect()
    };
    let Header {
        descr,
        fortran_order,
        shape,
    } = parse_header(&header)?;
    check_dimensions(&shape)?;
    let (dtype, big_endian) = parse_descr(&descr)?;

    let item_size = dtype
        .item_size()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("unsupported dtype '{descr}'"))?;
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let size = count.and_then(|n| n.checked_mul(item_size));
    let values = size.and_then(|size| data.get(..size)).ok_or_else(|| {
        let size = size.map_or_else(
            || "more than fits in memory".into(),
            |s| format!("{s} bytes"),
        );
        format!(
            "truncated: the header says {} {} ({size}) but only {} bytes follow",
            shape_text(&shape),
            dtype.name(),
            data.len()
        )
    })?;

    let mut data = match dtype {
        Dtype::Number(element) => element.decode(values, big_endian)?,
        Dtype::Unicode(_) => ArrayData::Text(
            values
                .chunks_exact(item_size)
                .map(|v| decode_utf32(v, big_endian))
                .collect::<Parsed<_>>()?,
        ),
        Dtype::Bytes(_) => ArrayData::Text(
            values
                .chunks_exact(item_size)
                .map(|v| String::from_utf8_lossy(trim_nuls(v)).into_owned())
                .collect(),
        ),
    };
    if let (true, &[rows, _]) = (fortran_order, shape.as_slice()) {
        data = match data {
            ArrayData::Float(v) => ArrayData::Float(to_row_major(&v, rows)),
            ArrayData::Int(v) => ArrayData::Int(to_row_major(&v, rows)),
            ArrayData::Text(v) => ArrayData::Text(to_row_major(&v, rows)),
        };
    }
    Ok(NamedArray {
        name: name.to_string(),
        shape,
        data,
        dtype: descr,
    })
}

/// A column-major array of `rows` rows in row-major order.
fn to_row_major<T: Clone>(values: &[T], rows: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(values.len());
    for row in 0..rows {
        out.extend(values.iter().skip(row).step_by(rows).cloned());
    }
    out
}

fn trim_nuls(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}

fn decode_utf32(bytes: &[u8], big_endian: bool) -> Parsed<String> {
    chunks(bytes)
        .map(|unit| {
            let code = if big_endian {
                u32::from_be_bytes(unit)
            } else {
                u32::from_le_bytes(unit)
            };
            char::from_u32(code)
                .ok_or_else(|| format!("invalid unicode code point {code:#x} in a string"))
        })
        .collect::<Parsed<String>>()
        .map(|s| s.trim_end_matches('\0').to_string())
}

/// `'<f4'` → (float32, little-endian). Byte order `|` (not applicable) and `=` (native; all
/// targets we build for are little-endian) read as little-endian.
fn parse_descr(descr: &str) -> Parsed<(Dtype, bool)> {
    let (big_endian, rest) = match descr.strip_prefix(['<', '>', '|', '=']) {
        Some(rest) => (descr.starts_with('>'), rest),
        None => (false, descr),
    };
    let mut chars = rest.chars();
    let kind = chars.next();
    let size: Option<usize> = chars.as_str().parse().ok();
    let number = |e| Ok((Dtype::Number(e), big_endian));
    match (kind, size) {
        (Some('O'), _) => Err(format!(
            "dtype '{descr}' holds Python objects (a pickle), which cannot be read safely; \
             save the array with a numeric or string dtype, e.g. arr.astype(np.float32) or arr.astype(str)"
        )),
        (Some('b'), Some(1)) => number(Element::Bool),
        (Some('i'), Some(1)) => number(Element::I8),
        (Some('i'), Some(2)) => number(Element::I16),
        (Some('i'), Some(4)) => number(Element::I32),
        (Some('i'), Some(8)) => number(Element::I64),
        (Some('u'), Some(1)) => number(Element::U8),
        (Some('u'), Some(2)) => number(Element::U16),
        (Some('u'), Some(4)) => number(Element::U32),
        (Some('u'), Some(8)) => number(Element::U64),
        (Some('f'), Some(2)) => number(Element::F16),
        (Some('f'), Some(4)) => number(Element::F32),
        (Some('f'), Some(8)) => number(Element::F64),
        (Some('U'), Some(n)) => Ok((Dtype::Unicode(n), big_endian)),
        (Some('S' | 'a'), Some(n)) => Ok((Dtype::Bytes(n), big_endian)),
        _ => Err(format!(
            "unsupported dtype '{descr}'; supported are float16/32/64, bool, (u)int8/16/32/64, \
             unicode and byte strings"
        )),
    }
}

struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

fn parse_header(text: &str) -> Parsed<Header> {
    // Quote the start of the header: enough to see the problem, short even if the file lies.
    let quoted: String = text.trim_end().chars().take(200).collect();
    let bad = |what: &str| format!("bad header {what}: {quoted}");
    let mut parser = Parser { rest: text };
    let value = parser.value(0).map_err(|e| bad(&format!("({e})")))?;
    if !parser.rest.trim().is_empty() {
        return Err(bad("(text after the dict)"));
    }
    let Literal::Dict(entries) = value else {
        return Err(bad("(not a dict)"));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .ok_or_else(|| bad(&format!("(no '{key}')")))
    };
    let descr = match get("descr")? {
        Literal::Str(s) => s.clone(),
        Literal::Seq(_) => return Err("structured dtypes (record arrays) are not supported".into()),
        _ => return Err(bad("('descr' is not a string)")),
    };
    let Literal::Bool(fortran_order) = *get("fortran_order")? else {
        return Err(bad("('fortran_order' is not True or False)"));
    };
    let Literal::Seq(dims) = get("shape")? else {
        return Err(bad("('shape' is not a tuple)"));
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Literal::Int(n) => Ok(*n),
            _ => Err(bad("('shape' holds something other than integers)")),
        })
        .collect::<Parsed<_>>()?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

/// The subset of Python literals that numpy writes in headers.
#[derive(Debug, PartialEq)]
enum Literal {
    Str(String),
    Int(usize),
    Bool(bool),
    /// A tuple or a list.
    Seq(Vec<Literal>),
    Dict(Vec<(String, Literal)>),
}

/// Bounds recursion, so a header of a million '(' cannot overflow the stack.
const MAX_DEPTH: usize = 16;

/// A recursive-descent parser over what is left of the header.
struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    /// Skips spaces, then consumes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.rest = self.rest.trim_start();
        self.rest
            .strip_prefix(c)
            .map(|rest| self.rest = rest)
            .is_some()
    }

    fn value(&mut self, depth: usize) -> Parsed<Literal> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        self.rest = self.rest.trim_start();
        let first = self.rest.chars().next().ok_or("it ends early")?;
        match first {
            '{' | '(' | '[' => {
                self.eat(first);
                let close = match first {
                    '{' => '}',
                    '(' => ')',
                    _ => ']',
                };
                let mut entries = Vec::new();
                let mut items = Vec::new();
                while !self.eat(close) {
                    if first == '{' {
                        let Literal::Str(key) = self.value(depth + 1)? else {
                            return Err("a dict key is not a string".into());
                        };
                        if !self.eat(':') {
                            return Err(format!("expected ':' after '{key}'"));
                        }
                        entries.push((key, self.value(depth + 1)?));
                    } else {
                        items.push(self.value(depth + 1)?);
                    }
                    if !self.eat(',') && !self.rest.starts_with(close) {
                        return Err(format!("expected ',' or '{close}'"));
                    }
                }
                Ok(if first == '{' {
                    Literal::Dict(entries)
                } else {
                    Literal::Seq(items)
                })
            }
            '\'' | '"' => self.string(first),
            '0'..='9' => {
                let end = self
                    .rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(self.rest.len());
                let (digits, rest) = self.rest.split_at(end);
                // Python 2 wrote longs as `3L`.
                self.rest = rest.strip_prefix('L').unwrap_or(rest);
                digits
                    .parse()
                    .map(Literal::Int)
                    .map_err(|_| format!("the number {digits} is too large"))
            }
            _ => {
                let end = self
                    .rest
                    .find(|c: char| !c.is_alphanumeric() && c != '_')
                    .unwrap_or(self.rest.len());
                let (word, rest) = self.rest.split_at(end);
                self.rest = rest;
                match word {
                    "True" => Ok(Literal::Bool(true)),
                    "False" => Ok(Literal::Bool(false)),
                    _ => Err(format!(
                        "unexpected '{}'",
                        if word.is_empty() {
                            first.to_string()
                        } else {
                            word.into()
                        }
                    )),
                }
            }
        }
    }

    /// A quoted string; a backslash keeps the character after it.
    fn string(&mut self, quote: char) -> Parsed<Literal> {
        let mut chars = self.rest.char_indices().skip(1);
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => out.extend(chars.next().map(|(_, c)| c)),
                c if c == quote => {
                    self.rest = &self.rest[i + c.len_utf8()..];
                    return Ok(Literal::Str(out));
                }
                c => out.push(c),
            }
        }
        Err("a string is not closed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_dicts_parse_in_any_order_and_layout() {
        let h =
            parse_header("{'shape':(3,) ,\"fortran_order\": True, 'descr':'>f8', }  \n").unwrap();
        assert_eq!(
            (h.descr.as_str(), h.fortran_order, h.shape),
            (">f8", true, vec![3])
        );
        let h = parse_header("{'descr': '<U5', 'fortran_order': False, 'shape': (), }").unwrap();
        assert!(h.shape.is_empty());
        assert_eq!(
            parse_header("{'descr':'<i8','fortran_order':False,'shape':(2L, 3L)}")
                .unwrap()
                .shape,
            [2, 3]
        );
    }

    #[test]
    fn bad_headers_are_errors() {
        for text in [
            "",
            "{",
            "{'descr': '<f4'",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
            "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
            &"(".repeat(100_000),
        ] {
            assert!(parse_header(text).is_err(), "{text:.40}");
        }
    }

    #[test]
    fn dtypes_map_to_elements() {
        assert_eq!(parse_descr("<f2"), Ok((Dtype::Number(Element::F16), false)));
        assert_eq!(parse_descr(">i4"), Ok((Dtype::Number(Element::I32), true)));
        assert_eq!(
            parse_descr("|b1"),
            Ok((Dtype::Number(Element::Bool), false))
        );
        assert_eq!(parse_descr("<U7"), Ok((Dtype::Unicode(7), false)));
        assert_eq!(parse_descr("|S3"), Ok((Dtype::Bytes(3), false)));
        assert!(parse_descr("|O")
            .unwrap_err()
            .contains("numeric or string dtype"));
        assert!(parse_descr("<c8")
            .unwrap_err()
            .contains("unsupported dtype '<c8'"));
        assert!(parse_descr("<é4").is_err());
    }

    #[test]
    fn column_major_becomes_row_major() {
        // [[1, 2, 3], [4, 5, 6]] stored by columns.
        assert_eq!(to_row_major(&[1, 4, 2, 5, 3, 6], 2), [1, 2, 3, 4, 5, 6]);
    }
}
