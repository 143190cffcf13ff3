//! Normalized iris images and validity masks.
//!
//! An enrollment device normalizes the iris into an 8-bit image of `height × width` pixels
//! (rows = radius ρ, columns = angle φ) together with a validity mask of the same size.
//! Both are biometric secrets: their buffers are zeroized on drop and `Debug` prints only
//! their shape.
//!
//! Pixels and mask bits are stored row-major (`index = row * width + col`), the order in
//! which the commitment packs them (see [`crate::commitment`]).

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

/// Errors reading, writing or validating images and masks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The pixel buffer does not hold `height * width` pixels.
    #[error("image buffer holds {actual} bytes but {height}x{width} needs {expected}")]
    BadLength {
        /// Declared rows.
        height: u32,
        /// Declared columns.
        width: u32,
        /// `height * width`.
        expected: usize,
        /// Bytes supplied.
        actual: usize,
    },
    /// A mask value other than 0 or 1.
    #[error("mask value {value} at index {index} is not 0 or 1")]
    NonBinaryMask {
        /// Flat row-major index.
        index: usize,
        /// Offending value.
        value: u8,
    },
    /// Image and mask shapes differ.
    #[error("mask is {mask_h}x{mask_w} but the image is {image_h}x{image_w}")]
    ShapeMismatch {
        /// Image rows.
        image_h: u32,
        /// Image columns.
        image_w: u32,
        /// Mask rows.
        mask_h: u32,
        /// Mask columns.
        mask_w: u32,
    },
    /// The PNG could not be decoded.
    #[error("cannot decode PNG {path}: {reason}")]
    Png {
        /// File (or `<memory>`).
        path: String,
        /// Decoder message.
        reason: String,
    },
    /// The PNG is not an 8-bit grayscale image.
    #[error("PNG {path} is {color}/{bits}-bit; zkiris needs 8-bit grayscale")]
    PngFormat {
        /// File (or `<memory>`).
        path: String,
        /// Colour type found.
        color: String,
        /// Bit depth found.
        bits: u8,
    },
    /// An I/O error while reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// An 8-bit normalized iris image (secret: zeroized on drop, redacted in `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct IrisImage {
    height: u32,
    width: u32,
    pixels: Zeroizing<Vec<u8>>,
}

/// A validity mask: 1 where the iris is visible, 0 where occluded (secret).
#[derive(Clone, PartialEq, Eq)]
pub struct IrisMask {
    height: u32,
    width: u32,
    bits: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for IrisImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IrisImage({}x{}, [REDACTED])", self.height, self.width)
    }
}

impl fmt::Debug for IrisMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IrisMask({}x{}, [REDACTED])", self.height, self.width)
    }
}

fn check_len(height: u32, width: u32, actual: usize) -> Result<(), ImageError> {
    let expected = height as usize * width as usize;
    if expected != actual {
        return Err(ImageError::BadLength { height, width, expected, actual });
    }
    Ok(())
}

impl IrisImage {
    /// Wraps a row-major pixel buffer.
    pub fn new(height: u32, width: u32, pixels: Vec<u8>) -> Result<Self, ImageError> {
        let pixels = Zeroizing::new(pixels);
        check_len(height, width, pixels.len())?;
        Ok(Self { height, width, pixels })
    }

    /// Rows (radial samples).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Columns (angular samples).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Row-major pixels.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Pixel at `(row, col)`.
    pub fn get(&self, row: u32, col: u32) -> u8 {
        self.pixels[row as usize * self.width as usize + col as usize]
    }

    /// Reads an 8-bit grayscale PNG.
    pub fn read_png(path: &Path) -> Result<Self, ImageError> {
        let (h, w, data) = read_gray_png_file(path)?;
        Self::new(h, w, data)
    }

    /// Decodes an 8-bit grayscale PNG held in memory.
    pub fn from_png_bytes(bytes: &[u8]) -> Result<Self, ImageError> {
        let (h, w, data) = decode_gray_png(bytes, "<memory>")?;
        Self::new(h, w, data)
    }

    /// Encodes as an 8-bit grayscale PNG.
    pub fn to_png_bytes(&self) -> Vec<u8> {
        encode_gray_png(self.height, self.width, &self.pixels)
    }
}

impl IrisMask {
    /// Wraps a row-major buffer of 0/1 values.
    pub fn new(height: u32, width: u32, bits: Vec<u8>) -> Result<Self, ImageError> {
        let bits = Zeroizing::new(bits);
        check_len(height, width, bits.len())?;
        if let Some((index, &value)) = bits.iter().enumerate().find(|(_, &b)| b > 1) {
            return Err(ImageError::NonBinaryMask { index, value });
        }
        Ok(Self { height, width, bits })
    }

    /// A mask with every pixel valid.
    pub fn all_valid(height: u32, width: u32) -> Self {
        Self { height, width, bits: Zeroizing::new(vec![1; height as usize * width as usize]) }
    }

    /// Rows.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Columns.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Row-major 0/1 values.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Number of valid pixels.
    pub fn count_valid(&self) -> usize {
        self.bits.iter().map(|&b| b as usize).sum()
    }

    /// Reads a PNG mask: any nonzero pixel is valid.
    pub fn read_png(path: &Path) -> Result<Self, ImageError> {
        let (h, w, mut data) = read_gray_png_file(path)?;
        data.iter_mut().for_each(|v| *v = u8::from(*v != 0));
        Self::new(h, w, data)
    }

    /// Decodes a PNG mask held in memory (nonzero = valid).
    pub fn from_png_bytes(bytes: &[u8]) -> Result<Self, ImageError> {
        let (h, w, mut data) = decode_gray_png(bytes, "<memory>")?;
        data.iter_mut().for_each(|v| *v = u8::from(*v != 0));
        Self::new(h, w, data)
    }

    /// Encodes as an 8-bit grayscale PNG (valid = 255).
    pub fn to_png_bytes(&self) -> Vec<u8> {
        let scaled: Zeroizing<Vec<u8>> = Zeroizing::new(self.bits.iter().map(|&b| if b != 0 { 255 } else { 0 }).collect());
        encode_gray_png(self.height, self.width, &scaled)
    }

    /// Checks that the mask has the image's shape.
    pub fn check_matches(&self, image: &IrisImage) -> Result<(), ImageError> {
        if self.height != image.height || self.width != image.width {
            return Err(ImageError::ShapeMismatch { image_h: image.height, image_w: image.width, mask_h: self.height, mask_w: self.width });
        }
        Ok(())
    }
}

fn read_gray_png_file(path: &Path) -> Result<(u32, u32, Vec<u8>), ImageError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|source| ImageError::Io { path: path.display().to_string(), source })?;
    let out = decode_gray_png(&bytes, &path.display().to_string());
    zeroize::Zeroize::zeroize(&mut bytes);
    out
}

fn decode_gray_png(bytes: &[u8], path: &str) -> Result<(u32, u32, Vec<u8>), ImageError> {
    let png_err = |e: png::DecodingError| ImageError::Png { path: path.to_string(), reason: e.to_string() };
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().map_err(png_err)?;
    let info = reader.info();
    let (color, bits) = (info.color_type, info.bit_depth);
    if color != png::ColorType::Grayscale || bits != png::BitDepth::Eight {
        return Err(ImageError::PngFormat { path: path.to_string(), color: format!("{color:?}"), bits: bits as u8 });
    }
    let (w, h) = (info.width, info.height);
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(png_err)?;
    buf.truncate(frame.buffer_size());
    if frame.line_size != w as usize {
        return Err(ImageError::Png { path: path.to_string(), reason: "unexpected row stride".into() });
    }
    Ok((h, w, buf))
}

fn encode_gray_png(height: u32, width: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        // Writing into a Vec cannot fail for a well-formed header and a full buffer.
        let mut w = enc.write_header().expect("PNG header into memory");
        w.write_image_data(data).expect("PNG data into memory");
        w.finish().expect("PNG finish into memory");
    }
    out
}

/// Writes bytes to `path` (used by the CLI for PNGs and proofs).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    std::fs::File::create(path).and_then(|mut f| f.write_all(bytes)).map_err(|source| ImageError::Io { path: path.display().to_string(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_and_redacted_debug() {
        let px: Vec<u8> = (0..6u8).map(|i| i * 40).collect();
        let img = IrisImage::new(2, 3, px.clone()).unwrap();
        let back = IrisImage::from_png_bytes(&img.to_png_bytes()).unwrap();
        assert_eq!(back.pixels(), &px[..]);
        assert_eq!(format!("{img:?}"), "IrisImage(2x3, [REDACTED])");
    }

    #[test]
    fn rejects_bad_inputs() {
        assert!(matches!(IrisImage::new(2, 3, vec![0; 5]), Err(ImageError::BadLength { .. })));
        assert!(matches!(IrisMask::new(1, 2, vec![0, 2]), Err(ImageError::NonBinaryMask { index: 1, value: 2 })));
        assert!(matches!(IrisImage::from_png_bytes(b"not a png"), Err(ImageError::Png { .. })));
        let m = IrisMask::all_valid(2, 2);
        let i = IrisImage::new(2, 3, vec![0; 6]).unwrap();
        assert!(matches!(m.check_matches(&i), Err(ImageError::ShapeMismatch { .. })));
    }

    #[test]
    fn mask_png_nonzero_is_valid() {
        let m = IrisMask::new(1, 3, vec![1, 0, 1]).unwrap();
        let back = IrisMask::from_png_bytes(&m.to_png_bytes()).unwrap();
        assert_eq!(back.bits(), &[1, 0, 1]);
        assert_eq!(back.count_valid(), 2);
    }
}
