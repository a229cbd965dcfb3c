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
//!   run; instructions executed = budget − remaining. The count is *weighted wasm operators
//!   executed* ([`cost`]): lottery tickets must track the work a CPU does, not the number of
//!   operators a host can pack into a loop. Operators the compiler turns into nothing
//!   (`nop`, `block`, `end`, `drop`, locals, constants) are free, so a loop of `nop`s earns
//!   next to nothing; arithmetic costs 1, memory access 2, division and calls more.
//! - A segment that opens a loop body or a function costs at least 1, so every loop iteration
//!   and call is charged and the budget check always ends a run.
//! - A value the module `drop`s is added into a sink global instead: the compiler would
//!   otherwise delete the computation that made it (dead arithmetic and dead loads ran at 15–30×
//!   the built-in work's tickets per second) while its tickets were still counted. Adding
//!   (not storing) chains the sinks, so repeated stores cannot be merged either.
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
pub const POLICY: &str = "ankr-metering/segment-countdown-local-weighted-v3";
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
    let drop_types = validate_and_type_drops(wasm)?;
    let shape = Shape::of(wasm)?;
    let mut pass = Instrumenter {
        remaining: shape.globals,
        drop_types,
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

/// Validates `wasm` under [`allowed_features`] and returns, per defined function, the type of
/// the value each `drop` discards (`None` in unreachable code, where it is unknown).
fn validate_and_type_drops(wasm: &[u8]) -> Result<Vec<Vec<Option<ValType>>>, MeteringError> {
    let forbidden = |e: wasmparser::BinaryReaderError| MeteringError::Forbidden(e.to_string());
    let mut validator = Validator::new_with_features(allowed_features());
    let mut allocations = wasmparser::FuncValidatorAllocations::default();
    let mut functions = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(forbidden)?;
        if let wasmparser::ValidPayload::Func(func, body) =
            validator.payload(&payload).map_err(forbidden)?
        {
            let mut func = func.into_validator(allocations);
            let mut reader = body.get_binary_reader();
            func.read_locals(&mut reader).map_err(forbidden)?;
            let mut types = Vec::new();
            while !reader.eof() {
                let offset = reader.original_position();
                let op = reader
                    .peek_operator(&func.visitor(offset))
                    .map_err(forbidden)?;
                if matches!(op, Operator::Drop) {
                    types.push(match func.get_operand_type(0).flatten() {
                        Some(wasmparser::ValType::I32) => Some(ValType::I32),
                        Some(wasmparser::ValType::I64) => Some(ValType::I64),
                        Some(wasmparser::ValType::F32) => Some(ValType::F32),
                        Some(wasmparser::ValType::F64) => Some(ValType::F64),
                        Some(wasmparser::ValType::V128) => Some(ValType::V128),
                        _ => None,
                    });
                }
                reader
                    .visit_operator(&mut func.visitor(offset))
                    .map_err(forbidden)?
                    .map_err(forbidden)?;
            }
            reader
                .finish_expression(&func.visitor(reader.original_position()))
                .map_err(forbidden)?;
            allocations = func.into_allocations();
            functions.push(types);
        }
    }
    Ok(functions)
}

/// The sink globals' value types, in the order they follow the `remaining` global (floats
/// are added into the integer sink of their width, bit for bit).
const SINKS: [ValType; 3] = [ValType::I32, ValType::I64, ValType::V128];

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
    /// Per defined function, the type each `drop` discards (see [`validate_and_type_drops`]).
    drop_types: Vec<Vec<Option<ValType>>>,
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
        for val_type in SINKS {
            let zero = match val_type {
                ValType::I32 => ConstExpr::i32_const(0),
                ValType::I64 => ConstExpr::i64_const(0),
                _ => ConstExpr::v128_const(0),
            };
            let ty = GlobalType {
                val_type,
                mutable: true,
                shared: false,
            };
            globals.global(ty, &zero);
        }
        self.globals_pending = false;
    }

    /// Adds the value on top of the stack, of type `ty`, into its sink global (a `drop` that
    /// the compiler cannot delete).
    fn sink(&self, f: &mut Function, ty: ValType) {
        let global = |index: u32| self.remaining + 1 + index;
        let (index, add) = match ty {
            ValType::I32 => (0, Instruction::I32Add),
            ValType::F32 => {
                f.instruction(&Instruction::I32ReinterpretF32);
                (0, Instruction::I32Add)
            }
            ValType::I64 => (1, Instruction::I64Add),
            ValType::F64 => {
                f.instruction(&Instruction::I64ReinterpretF64);
                (1, Instruction::I64Add)
            }
            _ => (2, Instruction::I64x2Add),
        };
        f.instruction(&Instruction::GlobalGet(global(index)));
        f.instruction(&add);
        f.instruction(&Instruction::GlobalSet(global(index)));
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

/// Lottery tickets one execution of `op` earns (part of [`POLICY`]). The weights follow what
/// wasmtime's compiled code spends: free for what compiles to nothing or to a register move,
/// 1 for an ALU operation or a taken branch, 2 for a memory access or a call's frame, more for
/// division and bulk memory. `ankr bench --only pouw` measures tickets per second of each kind
/// of module against the built-in work, which is what keeps this table honest.
pub fn cost(op: &Operator) -> i64 {
    use Operator::*;
    match op {
        Nop
        | Block { .. }
        | Loop { .. }
        | End
        | Else
        | Drop
        | LocalGet { .. }
        | LocalSet { .. }
        | LocalTee { .. }
        | I32Const { .. }
        | I64Const { .. }
        | F32Const { .. }
        | F64Const { .. }
        | V128Const { .. }
        | Br { .. }
        | Return
        | Unreachable
        | RefNull { .. }
        | RefFunc { .. }
        | GlobalGet { .. } => 0,
        I32DivS | I32DivU | I32RemS | I32RemU | I64DivS | I64DivU | I64RemS | I64RemU => 8,
        F32Div | F64Div | F32Sqrt | F64Sqrt => 4,
        Call { .. } => 4,
        CallIndirect { .. } => 6,
        MemoryGrow { .. } | TableGrow { .. } => 64,
        MemoryCopy { .. }
        | MemoryFill { .. }
        | MemoryInit { .. }
        | TableCopy { .. }
        | TableFill { .. }
        | TableInit { .. } => 16,
        I32Load { .. }
        | I64Load { .. }
        | F32Load { .. }
        | F64Load { .. }
        | I32Load8S { .. }
        | I32Load8U { .. }
        | I32Load16S { .. }
        | I32Load16U { .. }
        | I64Load8S { .. }
        | I64Load8U { .. }
        | I64Load16S { .. }
        | I64Load16U { .. }
        | I64Load32S { .. }
        | I64Load32U { .. }
        | I32Store { .. }
        | I64Store { .. }
        | F32Store { .. }
        | F64Store { .. }
        | I32Store8 { .. }
        | I32Store16 { .. }
        | I64Store8 { .. }
        | I64Store16 { .. }
        | I64Store32 { .. }
        | V128Load { .. }
        | V128Store { .. } => 2,
        _ => 1,
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
        let mut drop_types = self
            .drop_types
            .get(self.next_body)
            .cloned()
            .unwrap_or_default()
            .into_iter();
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
            let weight: i64 = operators[start..end].iter().map(cost).sum();
            // A loop body or function entry is never free: each iteration and call is charged,
            // so the budget check ends every run.
            let weight = if check { weight.max(1) } else { weight };
            if weight > 0 || check {
                counter.charge(&mut f, weight, check);
            }
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
                let dropped = match op {
                    Operator::Drop => drop_types.next().flatten(),
                    _ => None,
                };
                match dropped {
                    Some(ty) => self.sink(&mut f, ty),
                    None => {
                        f.instruction(&self.instruction(op.clone())?);
                    }
                }
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
