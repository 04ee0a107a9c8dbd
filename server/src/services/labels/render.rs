//! Label artwork: the QR code alone as PNG (error correction M, a quiet
//! zone of 4 modules), a label as SVG (QR code and the human-readable GS1
//! element strings with the model), and A4 sheets of labels as SVG.

use std::fmt::Write as _;

use qrcode::{EcLevel, QrCode};

use super::Label;

/// Pixels per module of the PNG.
const MODULE_PX: u32 = 8;

fn qr(data: &str) -> anyhow::Result<QrCode> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| anyhow::anyhow!("the URL does not fit a QR code: {e}"))
}

/// The label's QR code alone, as PNG.
pub fn qr_png(label: &Label) -> anyhow::Result<Vec<u8>> {
    let image = qr(label.url.expose())?
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(MODULE_PX, MODULE_PX)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| anyhow::anyhow!("encoding the PNG: {e}"))?;
    Ok(out.into_inner())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The QR code's modules as one SVG path in a `size`-unit square, quiet
/// zone included.
fn qr_path(code: &QrCode, size: f64) -> String {
    let width = code.width();
    let quiet = 4;
    let cell = size / (width + 2 * quiet) as f64;
    let colors = code.to_colors();
    let mut d = String::new();
    for y in 0..width {
        for x in 0..width {
            if colors[y * width + x] == qrcode::Color::Dark {
                let _ = write!(
                    d,
                    "M{:.3},{:.3}h{cell:.3}v{cell:.3}h-{cell:.3}z",
                    (x + quiet) as f64 * cell,
                    (y + quiet) as f64 * cell
                );
            }
        }
    }
    format!(r#"<rect width="{size}" height="{size}" fill="white"/><path d="{d}" fill="black"/>"#)
}

/// Label width and height in the label's own units (tenths of a mm).
const LABEL_W: f64 = 700.0;
const LABEL_H: f64 = 370.0;

/// The label's content, in a `LABEL_W` × `LABEL_H` box.
fn label_body(label: &Label) -> anyhow::Result<String> {
    let code = qr(label.url.expose())?;
    let mut lines = vec![
        format!(
            r#"<tspan font-weight="bold">{}</tspan>"#,
            escape(&label.model)
        ),
        escape(&label.product),
        format!("(01) {}", label.device.gtin()),
        format!("(21) {}", escape(label.device.serial().as_str())),
    ];
    if let Some(lot) = &label.lot {
        lines.push(format!("(10) {}", escape(lot)));
    }
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(
            text,
            r#"<text x="360" y="{}" font-family="sans-serif" font-size="34">{line}</text>"#,
            70 + i as i32 * 56
        );
    }
    Ok(format!(
        r#"<rect width="{LABEL_W}" height="{LABEL_H}" fill="white"/><g transform="translate(15,15)">{}</g>{text}"#,
        qr_path(&code, 340.0)
    ))
}

/// One label as an SVG document (70 mm × 37 mm).
pub fn label_svg(label: &Label) -> anyhow::Result<String> {
    Ok(format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="70mm" height="37mm" viewBox="0 0 {LABEL_W} {LABEL_H}">{}</svg>
"#,
        label_body(label)?
    ))
}

/// Labels per A4 sheet: 3 columns of 8 (70 mm × 37 mm each, a common
/// label stock).
pub const PER_SHEET: usize = 24;

/// A4 sheets (210 mm × 297 mm) of labels, as SVG documents.
pub fn sheets(labels: &[Label]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for page in labels.chunks(PER_SHEET) {
        let mut body = String::new();
        for (i, label) in page.iter().enumerate() {
            let (col, row) = (i % 3, i / 3);
            let _ = write!(
                body,
                r#"<g transform="translate({},{}) scale(0.1)">{}</g>"#,
                col * 70,
                0.5 + row as f64 * 37.0,
                label_body(label)?
            );
        }
        out.push(format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">{body}</svg>
"#
        ));
    }
    Ok(out)
}
