//! A GDPR export bundle (gdpr-orchestrator's manifest and data) as one zip: `manifest.json`, one
//! file per participant and category holding the exact bytes the manifest's checksums cover,
//! and `SHA256SUMS`. A file whose checksum does not match, or that the manifest lists and the
//! data lacks, is an error, never zipped.

use contracts::gdpr::Bundle;
use std::io::Write;

pub fn zip_bundle(bundle: &Bundle) -> Result<Vec<u8>, String> {
    use sha2::{Digest, Sha256};
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let manifest = serde_json::to_vec_pretty(&bundle.manifest).map_err(|e| e.to_string())?;
    zip.start_file("manifest.json", options).map_err(|e| e.to_string())?;
    zip.write_all(&manifest).map_err(|e| e.to_string())?;
    let mut sums = String::new();
    for file in &bundle.manifest.files {
        let (participant, category) = (&file.participant, &file.category);
        let data = bundle
            .data
            .get(participant)
            .and_then(|categories| categories.get(category))
            .ok_or_else(|| format!("{participant}/{category}: listed in the manifest, not in the data"))?;
        let bytes = serde_json::to_vec_pretty(data).map_err(|e| e.to_string())?;
        if hex::encode(Sha256::digest(&bytes)) != file.sha256 {
            return Err(format!(
                "{participant}/{category}: its checksum does not match the manifest"
            ));
        }
        let name = format!("{participant}/{category}.json");
        zip.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
        sums.push_str(&format!("{}  {name}\n", file.sha256));
    }
    zip.start_file("SHA256SUMS", options).map_err(|e| e.to_string())?;
    zip.write_all(sums.as_bytes()).map_err(|e| e.to_string())?;
    zip.finish().map(std::io::Cursor::into_inner).map_err(|e| e.to_string())
}
