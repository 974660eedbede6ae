//! Fixed-size binary numbers, shared by `.npy` and `.safetensors`.

use super::{ArrayData, Parsed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Element {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    BF16,
    F32,
    F64,
}

impl Element {
    pub(super) fn size(self) -> usize {
        match self {
            Element::Bool | Element::I8 | Element::U8 => 1,
            Element::I16 | Element::U16 | Element::F16 | Element::BF16 => 2,
            Element::I32 | Element::U32 | Element::F32 => 4,
            Element::I64 | Element::U64 | Element::F64 => 8,
        }
    }

    /// The numpy name, for messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Element::Bool => "bool",
            Element::I8 => "int8",
            Element::I16 => "int16",
            Element::I32 => "int32",
            Element::I64 => "int64",
            Element::U8 => "uint8",
            Element::U16 => "uint16",
            Element::U32 => "uint32",
            Element::U64 => "uint64",
            Element::F16 => "float16",
            Element::BF16 => "bfloat16",
            Element::F32 => "float32",
            Element::F64 => "float64",
        }
    }

    /// Decodes `bytes`, whose length the caller has checked to be a multiple of the size.
    /// Floats become f32 (float64 is narrowed), integers and booleans i64.
    pub(super) fn decode(self, bytes: &[u8], big_endian: bool) -> Parsed<ArrayData> {
        macro_rules! values {
            ($t:ty) => {
                chunks(bytes).map(|b| {
                    if big_endian {
                        <$t>::from_be_bytes(b)
                    } else {
                        <$t>::from_le_bytes(b)
                    }
                })
            };
        }
        Ok(match self {
            Element::Bool => ArrayData::Int(bytes.iter().map(|&b| i64::from(b != 0)).collect()),
            Element::I8 => ArrayData::Int(values!(i8).map(i64::from).collect()),
            Element::I16 => ArrayData::Int(values!(i16).map(i64::from).collect()),
            Element::I32 => ArrayData::Int(values!(i32).map(i64::from).collect()),
            Element::I64 => ArrayData::Int(values!(i64).collect()),
            Element::U8 => ArrayData::Int(values!(u8).map(i64::from).collect()),
            Element::U16 => ArrayData::Int(values!(u16).map(i64::from).collect()),
            Element::U32 => ArrayData::Int(values!(u32).map(i64::from).collect()),
            Element::U64 => ArrayData::Int(
                values!(u64)
                    .map(|v| {
                        i64::try_from(v)
                            .map_err(|_| format!("the value {v} does not fit in an int64"))
                    })
                    .collect::<Parsed<_>>()?,
            ),
            Element::F16 => ArrayData::Float(values!(half::f16).map(f32::from).collect()),
            Element::BF16 => ArrayData::Float(values!(half::bf16).map(f32::from).collect()),
            Element::F32 => ArrayData::Float(values!(f32).collect()),
            Element::F64 => ArrayData::Float(values!(f64).map(|v| v as f32).collect()),
        })
    }
}

/// Consecutive `N`-byte groups of `bytes`.
pub(super) fn chunks<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes.chunks_exact(N).map(|chunk| {
        let mut group = [0; N];
        group.copy_from_slice(chunk);
        group
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_byte_orders_and_narrows_doubles() {
        assert_eq!(
            Element::I16.decode(&[1, 0, 0, 2], false),
            Ok(ArrayData::Int(vec![1, 512]))
        );
        assert_eq!(
            Element::I16.decode(&[1, 0, 0, 2], true),
            Ok(ArrayData::Int(vec![256, 2]))
        );
        assert_eq!(
            Element::F64.decode(&0.1f64.to_le_bytes(), false),
            Ok(ArrayData::Float(vec![0.1f32]))
        );
        assert_eq!(
            Element::F16.decode(&[0, 0x3c], false),
            Ok(ArrayData::Float(vec![1.0]))
        );
        assert_eq!(
            Element::BF16.decode(&[0x80, 0x3f], false),
            Ok(ArrayData::Float(vec![1.0]))
        );
        assert_eq!(
            Element::Bool.decode(&[0, 1, 7], false),
            Ok(ArrayData::Int(vec![0, 1, 1]))
        );
        assert!(Element::U64
            .decode(&u64::MAX.to_le_bytes(), false)
            .unwrap_err()
            .contains("int64"));
    }
}
