//! A GDPR export bundle (gdpr-orchestrator's manifest and data) as one zip: `manifest.json`, one
//! file per participant and category holding the exact bytes the manifest's checksums cover
//! (`Bundle::verified_files`: a file whose checksum does not match, or that the data lacks, is an
//! error, never zipped), the answer the subject reads at its manifest path
//! (`Bundle::verified_answer`, checked alike), and `SHA256SUMS` over all of them.

use contracts::gdpr::Bundle;
use std::io::Write;

pub fn zip_bundle(bundle: &Bundle) -> Result<Vec<u8>, String> {
    let files = bundle.verified_files()?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let manifest = serde_json::to_vec_pretty(&bundle.manifest).map_err(|e| e.to_string())?;
    zip.start_file("manifest.json", options).map_err(|e| e.to_string())?;
    zip.write_all(&manifest).map_err(|e| e.to_string())?;
    let mut sums = String::new();
    let answer = &bundle.manifest.answer;
    let answered = (
        answer.path.clone(),
        answer.sha256.as_str(),
        bundle.verified_answer()?.as_bytes().to_vec(),
    );
    let named = files.into_iter().map(|(file, bytes)| {
        let name = format!("{}/{}.json", file.participant, file.category);
        (name, file.sha256.as_str(), bytes)
    });
    for (name, sha256, bytes) in named.chain(std::iter::once(answered)) {
        zip.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
        sums.push_str(&format!("{sha256}  {name}\n"));
    }
    zip.start_file("SHA256SUMS", options).map_err(|e| e.to_string())?;
    zip.write_all(sums.as_bytes()).map_err(|e| e.to_string())?;
    zip.finish().map(std::io::Cursor::into_inner).map_err(|e| e.to_string())
}
