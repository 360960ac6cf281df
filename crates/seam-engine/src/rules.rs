//! The rule language's compiler with the engine's field schema.

use seam_rules::{CompileOptions, RuleError, RuleSet, SourceFile};

use crate::schema::{EngineSchema, Field, SchemaBuilder};

/// The fields rules are dispatched on: cheap to read (event fields, and enrichment the engine
/// keeps at hand), and named with fixed values by most rules.
const DISPATCH_FIELDS: &[Field] = &[
    Field::Class,
    Field::Activity,
    Field::Outcome,
    Field::Medium,
    Field::PersonKind,
    Field::PersonStatus,
    Field::ZoneKind,
    Field::SiteStatus,
];

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
        // Most rules name the class, activity and outcome they apply to, and many a kind of
        // person or zone: reading those first rules out everything else.
        let dispatch_fields = if dispatch {
            DISPATCH_FIELDS
                .iter()
                .map(|field| EngineSchema::field_ref(*field))
                .collect()
        } else {
            Vec::new()
        };
        let options = CompileOptions { dispatch_fields };
        let set = RuleSet::compile(files, &builder, &options)?;
        Ok(CompiledRules {
            set,
            schema: builder.0.into_inner(),
        })
    }
}
