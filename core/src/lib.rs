//! zkiris: prove in zero knowledge that an iris code was derived from an enrolled iris image.
#![forbid(unsafe_code)]
