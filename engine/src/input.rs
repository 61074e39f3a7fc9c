//! Reading input files (`-` is standard input), refusing oversized files before they are
//! read whole.

use depot_migrate_core::load::MAX_FILE_SIZE;
use depot_migrate_core::{Code, Invalid};
use std::io::Read;
use std::path::Path;

/// An input file's display name and bytes.
pub struct InputFile {
    /// Name used in error lines (`<stdin>` for `-`).
    pub name: String,
    /// The file's bytes, at most `MAX_FILE_SIZE + 1` of them.
    pub bytes: Vec<u8>,
}

/// A printable file name: control characters escaped so an error stays on one line.
pub fn display_name(arg: &str) -> String {
    if arg == "-" {
        return "<stdin>".to_string();
    }
    arg.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Reads `arg` (a path, or `-` for standard input). Files over the limit are refused from
/// their metadata without reading them; standard input is read up to one byte past the
/// limit so the size check in the core can refuse it.
pub fn read_input(arg: &str) -> Result<InputFile, (String, Invalid)> {
    let name = display_name(arg);
    let limit = MAX_FILE_SIZE as u64 + 1;
    let io_error = |e: std::io::Error| {
        (
            name.clone(),
            Invalid::one(
                Code::Io,
                "$",
                format!("cannot read the file: {e}; check the path and permissions"),
            ),
        )
    };
    let mut bytes = Vec::new();
    if arg == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
    } else {
        let path = Path::new(arg);
        let meta = std::fs::metadata(path).map_err(io_error)?;
        if meta.is_dir() {
            return Err((
                name.clone(),
                Invalid::one(Code::Io, "$", "is a directory; pass a JSON file"),
            ));
        }
        if meta.len() > MAX_FILE_SIZE as u64 {
            return Err((
                name.clone(),
                Invalid::one(
                    Code::FileTooLarge,
                    "$",
                    format!(
                        "file is {} bytes, over the {MAX_FILE_SIZE} byte (32 MiB) limit; split the package or remove what does not belong in it",
                        meta.len()
                    ),
                ),
            ));
        }
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .map_err(io_error)?;
    }
    Ok(InputFile { name, bytes })
}
