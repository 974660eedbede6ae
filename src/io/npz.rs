//! `.npz`: a zip archive of `.npy` members, stored (`np.savez`) or deflated
//! (`np.savez_compressed`). Each array is named after its member, without `.npy`.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::{npy, NamedArray, Parsed};

pub(super) fn read(bytes: &[u8]) -> Parsed<Vec<NamedArray>> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("not a valid .npz (zip) archive: {e}"))?;
    let mut arrays = Vec::new();
    for index in 0..archive.len() {
        let mut member = archive
            .by_index(index)
            .map_err(|e| format!("cannot open archive member {index}: {e}"))?;
        if member.is_dir() {
            continue;
        }
        let member_name = member
            .name()
            .map_err(|e| format!("archive member {index}: {e}"))?
            .into_owned();
        // No pre-allocation from the declared size: the archive could lie about it.
        let mut content = Vec::new();
        member
            .read_to_end(&mut content)
            .map_err(|e| format!("{member_name}: cannot extract: {e}"))?;
        let name = member_name.strip_suffix(".npy").unwrap_or(&member_name);
        arrays.push(npy::read(name, &content).map_err(|e| format!("{member_name}: {e}"))?);
    }
    if arrays.is_empty() {
        return Err("the archive holds no arrays".into());
    }
    Ok(arrays)
}
