//! Instruction metering by instrumentation: the module counts its own instructions.
//!
//! wasmtime's built-in fuel checks on every basic block and is reported at 25–35 % overhead;
//! REM instruments each basic block with a counter. This pass does REM's scheme on the wasm
//! itself, so the count is a property of the module, not of the compiler:
//!
//! - A *segment* is a run of operators that always executes whole: it ends after every operator
//!   that may transfer control (`loop`, `if`, `else`, `end`, `br`, `br_if`, `br_table`,
//!   `return`, `unreachable`). `block` and `call` do not end one (the callee is counted on its
//!   own; a trap inside it leaves the caller's segment counted, which is still deterministic).
//! - Each segment starts with `remaining -= length`. `remaining` is an added mutable `i64`
//!   global exported as [`REMAINING_EXPORT`], which the host sets to the budget before the
//!   run; instructions executed = budget − remaining. The count is *wasm operators executed*,
//!   every operator 1.
//! - Inside a function the count lives in an added local (a register, not memory): it is
//!   loaded from the global at entry and stored back before every call (and reloaded after),
//!   before `unreachable`, and wherever the function can return. A trap other than
//!   `unreachable` loses the trapping frames' unstored count — the same loss on every machine,
//!   so counts stay deterministic.
//! - Function entries and loop headers — the only places through which execution can go on
//!   forever — also trap when the count is below zero, so a run overshoots its budget by at
//!   most one segment per open loop.
//!
//! The policy is part of the enclave measurement ([`POLICY`]): change anything here and the
//! measurement, hence the set of enclaves the registry admits, changes with it.

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection,
    GlobalType, Instruction, Module, SectionId, ValType,
};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

/// Name and version of the metering policy, part of the enclave measurement.
pub const POLICY: &str = "ankr-metering/segment-countdown-local-v2";
/// Export name of the instructions left in the budget, which the instrumented module counts
/// down and traps below zero.
pub const REMAINING_EXPORT: &str = "__ankr_remaining";

/// Why a module cannot be metered (and so cannot be useful work).
#[derive(Debug, thiserror::Error)]
pub enum MeteringError {
    #[error("malformed wasm: {0}")]
    Malformed(String),
    #[error("wasm feature not allowed for useful work: {0}")]
    Forbidden(String),
}

/// The wasm features useful work may use: everything deterministic that wasmtime runs with
/// NaN canonicalisation. No threads, no relaxed SIMD, no memory64, no multiple memories,
/// no GC or exceptions, no tail calls.
pub fn allowed_features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::SIMD
        | WasmFeatures::FLOATS
}

/// Validates `wasm` under [`allowed_features`] and returns it instrumented.
pub fn instrument(wasm: &[u8]) -> Result<Vec<u8>, MeteringError> {
    Validator::new_with_features(allowed_features())
        .validate_all(wasm)
        .map_err(|e| MeteringError::Forbidden(e.to_string()))?;
    let shape = Shape::of(wasm)?;
    let mut pass = Instrumenter {
        remaining: shape.globals,
        param_counts: shape.param_counts,
        next_body: 0,
        globals_pending: true,
        exports_pending: true,
    };
    let mut module = Module::new();
    pass.parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| MeteringError::Malformed(format!("{e:?}")))?;
    Ok(module.finish())
}

/// What the pass needs to know before rewriting: how many globals exist (imported and
/// defined), and each defined function's parameter count (its locals are numbered after them).
struct Shape {
    globals: u32,
    param_counts: Vec<u32>,
}

impl Shape {
    fn of(wasm: &[u8]) -> Result<Self, MeteringError> {
        let malformed = |e: wasmparser::BinaryReaderError| MeteringError::Malformed(e.to_string());
        let mut globals = 0;
        let mut type_params = Vec::new();
        let mut param_counts = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(malformed)? {
                Payload::TypeSection(types) => {
                    for ty in types.into_iter_err_on_gc_types() {
                        type_params.push(ty.map_err(malformed)?.params().len() as u32);
                    }
                }
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        if matches!(
                            import.map_err(malformed)?.ty,
                            wasmparser::TypeRef::Global(_)
                        ) {
                            globals += 1;
                        }
                    }
                }
                Payload::FunctionSection(functions) => {
                    for ty in functions {
                        let ty = ty.map_err(malformed)? as usize;
                        param_counts.push(*type_params.get(ty).ok_or_else(|| {
                            MeteringError::Malformed(format!("function type {ty} out of range"))
                        })?);
                    }
                }
                Payload::GlobalSection(section) => globals += section.count(),
                _ => {}
            }
        }
        Ok(Self {
            globals,
            param_counts,
        })
    }
}

struct Instrumenter {
    remaining: u32,
    param_counts: Vec<u32>,
    /// Index among defined functions of the next code body.
    next_body: usize,
    globals_pending: bool,
    exports_pending: bool,
}

/// Position of a section in the binary order (custom sections aside), to know where a
/// missing global or export section must be inserted.
fn order(id: SectionId) -> u32 {
    match id {
        SectionId::Type => 10,
        SectionId::Import => 20,
        SectionId::Function => 30,
        SectionId::Table => 40,
        SectionId::Memory => 50,
        SectionId::Tag => 55,
        SectionId::Global => 60,
        SectionId::Export => 70,
        SectionId::Start => 80,
        SectionId::Element => 90,
        SectionId::DataCount => 95,
        SectionId::Code => 100,
        SectionId::Data => 110,
        _ => 0,
    }
}

impl Instrumenter {
    fn add_globals(&mut self, globals: &mut GlobalSection) {
        let ty = GlobalType {
            val_type: ValType::I64,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &ConstExpr::i64_const(0));
        self.globals_pending = false;
    }

    fn add_exports(&mut self, exports: &mut ExportSection) {
        exports.export(REMAINING_EXPORT, ExportKind::Global, self.remaining);
        self.exports_pending = false;
    }
}

/// Emits the counting code of one function whose count lives in local `count`.
struct Counter {
    global: u32,
    count: u32,
}

impl Counter {
    /// `count -= cost`, and with `check`, store and trap if it is now below zero.
    fn charge(&self, f: &mut Function, cost: i64, check: bool) {
        f.instruction(&Instruction::LocalGet(self.count));
        f.instruction(&Instruction::I64Const(cost));
        f.instruction(&Instruction::I64Sub);
        f.instruction(&Instruction::LocalSet(self.count));
        if check {
            f.instruction(&Instruction::LocalGet(self.count));
            f.instruction(&Instruction::I64Const(0));
            f.instruction(&Instruction::I64LtS);
            f.instruction(&Instruction::If(BlockType::Empty));
            self.store(f);
            f.instruction(&Instruction::Unreachable);
            f.instruction(&Instruction::End);
        }
    }

    fn store(&self, f: &mut Function) {
        f.instruction(&Instruction::LocalGet(self.count));
        f.instruction(&Instruction::GlobalSet(self.global));
    }

    fn load(&self, f: &mut Function) {
        f.instruction(&Instruction::GlobalGet(self.global));
        f.instruction(&Instruction::LocalSet(self.count));
    }
}

/// Whether control may leave the straight line after this operator.
fn ends_segment(op: &Operator) -> bool {
    matches!(
        op,
        Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Unreachable
    )
}

impl Reencode for Instrumenter {
    type Error = MeteringError;

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_globals(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.add_exports(exports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let next = before.map_or(u32::MAX, order);
        if self.globals_pending && next > order(SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.add_globals(&mut globals);
            module.section(&globals);
        }
        if self.exports_pending && next > order(SectionId::Export) {
            let mut exports = ExportSection::new();
            self.add_exports(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let params = self.param_counts.get(self.next_body).copied().unwrap_or(0);
        self.next_body += 1;
        let mut locals = Vec::new();
        let mut declared = 0u32;
        for pair in body.get_locals_reader()? {
            let (count, ty) = pair?;
            declared += count;
            locals.push((count, self.val_type(ty)?));
        }
        locals.push((1, ValType::I64));
        let counter = Counter {
            global: self.remaining,
            count: params + declared,
        };
        let mut f = Function::new(locals);
        let mut operators = Vec::new();
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            operators.push(reader.read()?);
        }
        counter.load(&mut f);
        // Segment boundaries: each segment is operators[start..end]; `check` marks segments
        // that open a function or a loop body. `depth` counts the open blocks inside the
        // function, so a branch whose label is the function's own frame is seen as a return.
        let mut start = 0;
        let mut check = true;
        let mut depth = 0u32;
        while start < operators.len() {
            let end = operators[start..]
                .iter()
                .position(ends_segment)
                .map_or(operators.len(), |i| start + i + 1);
            counter.charge(&mut f, (end - start) as i64, check);
            for op in &operators[start..end] {
                let leaves = match op {
                    Operator::Return | Operator::Unreachable => true,
                    Operator::End => depth == 0,
                    Operator::Br { relative_depth } | Operator::BrIf { relative_depth } => {
                        *relative_depth == depth
                    }
                    Operator::BrTable { targets } => {
                        targets.default() == depth
                            || targets.targets().any(|t| t.ok() == Some(depth))
                    }
                    _ => false,
                };
                let calls = matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. });
                if leaves || calls {
                    counter.store(&mut f);
                }
                match op {
                    Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                        depth += 1
                    }
                    Operator::End => depth = depth.saturating_sub(1),
                    _ => {}
                }
                f.instruction(&self.instruction(op.clone())?);
                if calls {
                    counter.load(&mut f);
                }
            }
            check = matches!(operators[end - 1], Operator::Loop { .. });
            start = end;
        }
        code.function(&f);
        Ok(())
    }
}
