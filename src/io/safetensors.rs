//! `.safetensors`: an 8-byte little-endian header length, a JSON header, then the raw values.

use ::safetensors::{Dtype, SafeTensors};

use super::element::Element;
use super::{check_dimensions, NamedArray, Parsed};

/// For detection without an extension: a header length that fits, followed by `{`.
pub(super) fn looks_like(bytes: &[u8]) -> bool {
    header_length(bytes).is_some_and(|n| n <= (bytes.len() as u64).saturating_sub(8))
        && bytes.get(8) == Some(&b'{')
}

fn header_length(bytes: &[u8]) -> Option<u64> {
    bytes.first_chunk::<8>().map(|n| u64::from_le_bytes(*n))
}

/// The tensors, sorted by name.
pub(super) fn read(bytes: &[u8]) -> Parsed<Vec<NamedArray>> {
    let header_len =
        header_length(bytes).ok_or("truncated: shorter than the 8-byte header length")?;
    let available = (bytes.len() as u64).saturating_sub(8);
    if header_len > available {
        return Err(format!(
            "the header length ({header_len} bytes) goes past the end of the file ({available} bytes follow)"
        ));
    }
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let mut arrays = tensors
        .iter()
        .map(|(name, view)| {
            let in_tensor = |e: String| format!("tensor '{name}': {e}");
            let element = element(view.dtype())
                .ok_or_else(|| in_tensor(format!("unsupported dtype {}", view.dtype())))?;
            check_dimensions(view.shape()).map_err(in_tensor)?;
            // The crate has checked that the byte length matches the shape and dtype.
            let data = element.decode(view.data(), false).map_err(in_tensor)?;
            Ok(NamedArray {
                name: name.to_string(),
                shape: view.shape().to_vec(),
                data,
                dtype: view.dtype().to_string(),
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    if arrays.is_empty() {
        return Err("the file holds no tensors".into());
    }
    arrays.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(arrays)
}

fn element(dtype: Dtype) -> Option<Element> {
    Some(match dtype {
        Dtype::BOOL => Element::Bool,
        Dtype::I8 => Element::I8,
        Dtype::I16 => Element::I16,
        Dtype::I32 => Element::I32,
        Dtype::I64 => Element::I64,
        Dtype::U8 => Element::U8,
        Dtype::U16 => Element::U16,
        Dtype::U32 => Element::U32,
        Dtype::U64 => Element::U64,
        Dtype::F16 => Element::F16,
        Dtype::BF16 => Element::BF16,
        Dtype::F32 => Element::F32,
        Dtype::F64 => Element::F64,
        _ => return None,
    })
}
