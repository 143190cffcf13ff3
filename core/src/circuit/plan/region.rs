//! Planned regions: where the statement's inputs and convolutions live in the shared columns,
//! and how a planned cell is named ([`CellRef`]). Written by the statement planner
//! ([`super`]) and the CNN planner ([`super::cnn`]); read by the witness and the
//! statement.

use crate::model::ir::TensorId;

use super::linear::ConvPlan;
use crate::circuit::chips::conv::ApadShape;
use crate::circuit::CircuitError;

/// A cell in the shared columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellRef {
    /// `q[col]` at `row`.
    Q(usize, usize),
    /// `v` at row.
    V(usize),
    /// `b` at row.
    B(usize),
    /// `h` at row.
    H(usize),
    /// `g` at row.
    G(usize),
    /// `u` (CNN outputs, see [`crate::circuit::layout::CnnColumns`]) at row.
    U(usize),
}

/// An enrollment input laid out four elements per row.
#[derive(Clone, Debug)]
pub struct InputRegion {
    /// Graph input index.
    pub input: usize,
    /// Tensor.
    pub tensor: TensorId,
    /// Image (bytes, range-checked) or mask (bits).
    pub is_mask: bool,
    /// First row.
    pub first_row: usize,
    /// Rows holding data.
    pub data_rows: usize,
    /// Zero rows completing the last commitment element.
    pub zero_rows: usize,
    /// Chains (image rows).
    pub chains: usize,
    /// Rows per chain.
    pub chain_rows: usize,
    /// Rows per commitment element (7 or 63).
    pub group_rows: usize,
    /// Padded-chain gate shapes of the convolutions this input feeds, in slot order.
    pub apad: Vec<ApadShape>,
}

impl InputRegion {
    /// The `v` cells holding the commitment elements, in order.
    pub fn element_cells(&self) -> Vec<CellRef> {
        let rows = self.data_rows + self.zero_rows;
        (0..rows / self.group_rows).map(|g| CellRef::V(self.first_row + (g + 1) * self.group_rows - 1)).collect()
    }

    /// Row of the last cell of chain `c`.
    pub fn chain_end_row(&self, c: usize) -> usize {
        self.first_row + (c + 1) * self.chain_rows - 1
    }

    /// Row whose `g` holds chain `c` padded as `shape` (`shape.slot` rows above the end).
    pub fn apad_row(&self, c: usize, shape: &ApadShape) -> usize {
        self.chain_end_row(c) - shape.slot
    }

    /// Gives `shape` a slot: the one of an equal shape already in use, else the next free one.
    pub fn apad_slot(&mut self, shape: ApadShape) -> Result<ApadShape, CircuitError> {
        let key = |a: &ApadShape| ApadShape { slot: 0, ..*a };
        let slot = match self.apad.iter().position(|a| key(a) == key(&shape)) {
            Some(s) => s,
            None => {
                self.apad.push(ApadShape { slot: self.apad.len(), ..shape });
                self.apad.len() - 1
            }
        };
        if slot >= self.chain_rows {
            return Err(CircuitError::Unsupported(format!("input {} feeds convolutions with {} different paddings", self.input, slot + 1)));
        }
        Ok(ApadShape { slot, ..shape })
    }
}

/// A convolution proved by the polynomial identity.
#[derive(Clone, Debug)]
pub struct ConvRegion {
    /// The structure.
    pub plan: ConvPlan,
    /// Index into [`super::StatementPlan::inputs`] of the source.
    pub source: usize,
    /// Target tensor.
    pub target: TensorId,
    /// Coefficients per segment, padded to a multiple of 4.
    pub seg_len: usize,
    /// First row of the coefficients.
    pub seg_first_row: usize,
    /// First row of each distinct kernel's taps (in `g`).
    pub kernel_rows: Vec<usize>,
    /// First row of the block accumulator.
    pub acc_first_row: usize,
    /// Padded-chain gate shape.
    pub apad: ApadShape,
}

impl ConvRegion {
    /// Cell of target element `(segment, j)`.
    pub fn output_cell(&self, s: usize, j: usize) -> CellRef {
        let lead = self.seg_len - self.plan.segment_len();
        let pos = s * self.seg_len + lead + self.plan.output_position(j);
        CellRef::Q(self.seg_first_row + pos / 4, pos % 4)
    }

    /// Rows of the coefficient region.
    pub fn seg_rows(&self) -> usize {
        self.plan.segments * self.seg_len / 4
    }

    /// Row of the last accumulator block.
    pub fn acc_last_row(&self) -> usize {
        self.acc_first_row + self.plan.blocks.len() - 1
    }
}
