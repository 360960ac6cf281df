//! The rule language's compiler with the engine's field schema.

use seam_rules::{CompileOptions, RuleError, RuleSet, SourceFile};

use crate::schema::{EngineSchema, Field, SchemaBuilder};

/// A compiled rule set and the schema that gives its field handles meaning.
#[derive(Debug)]
pub struct CompiledRules {
    pub set: RuleSet,
    pub schema: EngineSchema,
}

impl CompiledRules {
    pub fn compile(files: &[SourceFile]) -> Result<CompiledRules, Vec<RuleError>> {
        CompiledRules::compile_with(files, true)
    }

    /// `dispatch: false` evaluates every rule on every event: the reference for differential tests.
    pub fn compile_with(
        files: &[SourceFile],
        dispatch: bool,
    ) -> Result<CompiledRules, Vec<RuleError>> {
        let builder = SchemaBuilder::default();
        // Most rules name the event class they apply to; dispatching on it skips the rest.
        let dispatch_field = dispatch.then(|| EngineSchema::field_ref(Field::Class));
        let options = CompileOptions { dispatch_field };
        let set = RuleSet::compile(files, &builder, &options)?;
        Ok(CompiledRules {
            set,
            schema: builder.0.into_inner(),
        })
    }
}
