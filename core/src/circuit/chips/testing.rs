//! Shared pieces of the chips' MockProver tests: a harness circuit on the statement's columns
//! and failures reduced to what a test asserts exactly (gate name, constraint index and row;
//! lookup name, index and row; or a copy constraint's row).

use halo2_proofs::circuit::{Layouter, Region, SimpleFloorPlanner};
use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};

use crate::circuit::layout::{CnnColumns, Columns};

/// One failure of a MockProver run, as the chip tests compare it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Failure {
    /// `(gate name, constraint index in the gate, row)`.
    Gate(String, usize, usize),
    /// `(lookup name, lookup index, row)`.
    Lookup(String, usize, usize),
    /// A copy constraint broken at this row (of one of its two cells).
    Copy(usize),
}

/// `Failure::Gate`.
pub(crate) fn gate(name: &str, constraint: usize, row: usize) -> Failure {
    Failure::Gate(name.to_string(), constraint, row)
}

/// `Failure::Lookup`.
pub(crate) fn lookup(name: &str, index: usize, row: usize) -> Failure {
    Failure::Lookup(name.to_string(), index, row)
}

fn row(l: &FailureLocation) -> usize {
    match l {
        FailureLocation::InRegion { offset, .. } => *offset,
        FailureLocation::OutsideRegion { row } => *row,
    }
}

/// Parses `Constraint 2 in gate 5 ('name')` (the constraint may have a `('…')` name of its own).
fn parse_constraint(s: &str) -> (String, usize) {
    let rest = s.strip_prefix("Constraint ").expect("constraint display");
    let index: usize = rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|d| d.parse().ok()).expect("constraint index");
    let gate = rest.rsplit_once(" in gate ").expect("gate").1;
    let name = gate.split_once("('").and_then(|(_, n)| n.strip_suffix("')")).expect("gate name");
    (name.to_string(), index)
}

/// The sorted, deduplicated failures of `circuit` at size `2^k` (empty when it verifies).
pub(crate) fn failures<C: Circuit<Fr>>(k: u32, circuit: &C, instances: Vec<Vec<Fr>>) -> Vec<Failure> {
    let mut out: Vec<Failure> = match MockProver::run(k, circuit, instances).expect("synthesis").verify() {
        Ok(()) => vec![],
        Err(e) => e
            .iter()
            .map(|f| match f {
                VerifyFailure::ConstraintNotSatisfied { constraint, location, .. } => {
                    let (name, index) = parse_constraint(&constraint.to_string());
                    Failure::Gate(name, index, row(location))
                }
                VerifyFailure::Lookup { name, lookup_index, location } => Failure::Lookup(name.clone(), *lookup_index, row(location)),
                VerifyFailure::Permutation { location, .. } => Failure::Copy(row(location)),
                other => panic!("unexpected failure kind: {other}"),
            })
            .collect(),
    };
    out.sort();
    out.dedup();
    out
}

/// A chip under test on the statement's shared columns (and the CNN columns).
pub(crate) trait ChipTest: Clone {
    /// The chip's configuration (and whatever else the test configures).
    type Config: Clone;
    /// Configures the chip on the shared columns.
    fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns) -> Self::Config;
    /// Loads tables.
    fn load(_config: &Self::Config, _layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        Ok(())
    }
    /// Assigns the instance (and its tampering) in the one region, from row 0.
    fn assign(&self, config: &Self::Config, cols: &Columns, cnn: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error>;
}

/// The harness circuit: the shared columns, the CNN columns and one chip, in one region at
/// row 0 (as the statement lays its chips out).
#[derive(Clone, Debug)]
pub(crate) struct Harness<T>(pub(crate) T);

impl<T: ChipTest> Circuit<Fr> for Harness<T> {
    type Config = (Columns, CnnColumns, T::Config);
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        let cols = Columns::configure(meta);
        let cnn = CnnColumns::configure(meta);
        let chip = T::configure(meta, &cols, &cnn);
        (cols, cnn, chip)
    }

    fn synthesize(&self, (cols, cnn, chip): Self::Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        T::load(&chip, &mut layouter)?;
        layouter.assign_region(
            || "chip",
            |mut region| {
                // MockProver reports offsets from the region's first fixed cell or selector:
                // anchor the region at row 0 so that offsets are absolute rows.
                region.assign_fixed(cols.constant, 0, Fr::zero());
                self.0.assign(&chip, &cols, &cnn, &mut region)
            },
        )
    }
}

/// The failures of one chip instance at size `2^k`.
pub(crate) fn run<T: ChipTest>(k: u32, test: T) -> Vec<Failure> {
    failures(k, &Harness(test), vec![vec![]])
}
