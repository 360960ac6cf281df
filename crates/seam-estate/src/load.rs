//! Reading and checking the estate's files.
//!
//! Three passes: read every entry of every file on its own (so one bad entry hides nothing
//! else), register the ids, then resolve every reference and check what must agree across
//! entries. Every problem is collected; an [`Estate`] is built only when there is none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::check::Checker;
use crate::error::{EntityKind, EstateError, Location, Position, Problem};
use crate::estate::{Estate, Lookup};
use crate::identity::Identifier;
use crate::model::{Ap, Asset, Door, Network, Person, PersonIdx, Resource, Site, SwitchPort, Zone};
use crate::raw::{
    RawAp, RawAsset, RawDoor, RawNetwork, RawPerson, RawResource, RawSite, RawSwitchPort, RawZone,
    Text,
};

/// One file of an estate: its path (as it should appear in errors) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EstateFile {
    pub path: String,
    pub text: String,
}

impl Estate {
    /// Reads and checks an estate from its files' text: pure. Every problem is reported, each
    /// with its place; the estate exists only when there is none.
    pub fn from_files(files: &[EstateFile]) -> Result<Estate, Vec<EstateError>> {
        let mut loader = Loader::new(files);
        let mut parsed = Parsed::default();
        for (file, source) in files.iter().enumerate() {
            loader.parse_file(file, &source.text, &mut parsed);
        }
        // After a syntax error the rest of that file is a guess: references into it would
        // only add noise, so the checks across entries wait for a clean parse.
        if loader.saw_syntax_error {
            return Err(loader.into_errors());
        }
        let mut estate = loader.build(&parsed, None);
        if !loader.problems.is_empty() {
            return Err(loader.into_errors());
        }
        estate.lookup = Lookup::build(&estate);
        Ok(estate)
    }

    /// This estate's people (as the directory holds them, changes included) at the places of
    /// `files`: edited files taken while running. People in the files are ignored (they
    /// arrive as directory changes); references to people resolve against this estate's.
    /// Existing places must keep their positions (edit or append, never remove or reorder):
    /// the engine's state is indexed by them.
    pub fn with_places_from(&self, files: &[EstateFile]) -> Result<Estate, PlacesError> {
        let mut loader = Loader::new(files);
        let mut parsed = Parsed::default();
        for (file, source) in files.iter().enumerate() {
            loader.parse_file(file, &source.text, &mut parsed);
        }
        if loader.saw_syntax_error {
            return Err(PlacesError::Invalid(loader.into_errors()));
        }
        parsed.people.clear();
        let mut estate = loader.build(&parsed, Some(&self.people));
        if !loader.problems.is_empty() {
            return Err(PlacesError::Invalid(loader.into_errors()));
        }
        fn kept<T>(
            entity: EntityKind,
            old: &[T],
            new: &[T],
            id: impl Fn(&T) -> &str,
        ) -> Result<(), PlacesError> {
            for (position, before) in old.iter().enumerate() {
                match new.get(position) {
                    Some(after) if id(after) == id(before) => {}
                    _ => {
                        return Err(PlacesError::Moved {
                            entity,
                            id: id(before).to_owned(),
                        });
                    }
                }
            }
            Ok(())
        }
        kept(EntityKind::Site, &self.sites, &estate.sites, |x| &x.id)?;
        kept(EntityKind::Zone, &self.zones, &estate.zones, |x| &x.id)?;
        kept(EntityKind::Door, &self.doors, &estate.doors, |x| &x.id)?;
        kept(EntityKind::Ap, &self.aps, &estate.aps, |x| &x.id)?;
        kept(
            EntityKind::SwitchPort,
            &self.switch_ports,
            &estate.switch_ports,
            |x| &x.id,
        )?;
        kept(EntityKind::Network, &self.networks, &estate.networks, |x| {
            &x.id
        })?;
        kept(EntityKind::Asset, &self.assets, &estate.assets, |x| &x.id)?;
        kept(
            EntityKind::Resource,
            &self.resources,
            &estate.resources,
            |x| &x.id,
        )?;
        estate.precedence = self.precedence.clone();
        estate.owners = self.owners.clone();
        estate.lookup = Lookup::build(&estate);
        Ok(estate)
    }

    /// Reads every `*.toml` file in `dir` (not its subfolders), in name order, then
    /// [`Estate::from_files`].
    pub fn load_dir(dir: &Path) -> Result<Estate, Vec<EstateError>> {
        let files = read_dir(dir)?;
        Estate::from_files(&files)
    }
}

fn read_dir(dir: &Path) -> Result<Vec<EstateFile>, Vec<EstateError>> {
    let whole = |path: &Path, problem: Problem| EstateError {
        location: Location {
            path: path.display().to_string(),
            position: None,
        },
        problem,
    };
    let entries = std::fs::read_dir(dir).map_err(|error| {
        vec![whole(
            dir,
            Problem::Read {
                message: error.to_string(),
            },
        )]
    })?;
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                if path
                    .extension()
                    .is_some_and(|extension| extension == "toml")
                    && path.is_file()
                {
                    paths.push(path);
                }
            }
            Err(error) => errors.push(whole(
                dir,
                Problem::Read {
                    message: error.to_string(),
                },
            )),
        }
    }
    paths.sort();
    if paths.is_empty() && errors.is_empty() {
        errors.push(whole(dir, Problem::NoFiles));
    }
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push(EstateFile {
                path: path.display().to_string(),
                text,
            }),
            Err(error) => errors.push(whole(
                &path,
                Problem::Read {
                    message: error.to_string(),
                },
            )),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// A place in one of the files: the file's position in the input and a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Origin {
    pub(crate) file: usize,
    pub(crate) offset: usize,
}

/// An entry read from a file, with the file it came from.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) file: usize,
    pub(crate) raw: T,
}

impl<T> Entry<T> {
    fn at<U>(&self, spanned: &Spanned<U>) -> Origin {
        Origin {
            file: self.file,
            offset: spanned.span().start,
        }
    }
}

#[derive(Debug, Default)]
struct Parsed {
    sites: Vec<Entry<RawSite>>,
    zones: Vec<Entry<RawZone>>,
    doors: Vec<Entry<RawDoor>>,
    aps: Vec<Entry<RawAp>>,
    switch_ports: Vec<Entry<RawSwitchPort>>,
    networks: Vec<Entry<RawNetwork>>,
    assets: Vec<Entry<RawAsset>>,
    resources: Vec<Entry<RawResource>>,
    people: Vec<Entry<RawPerson>>,
    /// Ids of entries that could not be read: references to them are not reported again.
    unreadable: BTreeSet<(EntityKind, String)>,
}

/// Every id by kind, with its position and where it was defined (the first definition wins).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    ids: BTreeMap<EntityKind, BTreeMap<String, (u32, Origin)>>,
}

impl Registry {
    pub(crate) fn get(&self, kind: EntityKind, id: &str) -> Option<u32> {
        self.ids.get(&kind)?.get(id).map(|(index, _)| *index)
    }

    pub(crate) fn ids(&self, kind: EntityKind) -> impl Iterator<Item = &str> {
        self.ids
            .get(&kind)
            .into_iter()
            .flat_map(|ids| ids.keys().map(String::as_str))
    }
}

/// Why edited places cannot be taken while running.
#[derive(Debug, thiserror::Error)]
pub enum PlacesError {
    #[error("the estate has errors")]
    Invalid(Vec<EstateError>),
    /// An existing place was removed or moved to another position.
    #[error("{entity:?} `{id}` was removed or moved: take such an edit with a restart")]
    Moved { entity: EntityKind, id: String },
}

/// One identifier claim, kept with its place until the overlap check.
#[derive(Debug)]
pub(crate) struct Claim {
    pub(crate) person: PersonIdx,
    pub(crate) identifier: Identifier,
    pub(crate) origin: Origin,
}

pub(crate) struct Loader<'a> {
    files: &'a [EstateFile],
    line_starts: Vec<Vec<usize>>,
    problems: Vec<(Origin, Problem)>,
    saw_syntax_error: bool,
}

impl<'a> Loader<'a> {
    fn new(files: &'a [EstateFile]) -> Loader<'a> {
        let line_starts = files
            .iter()
            .map(|file| {
                std::iter::once(0)
                    .chain(file.text.match_indices('\n').map(|(offset, _)| offset + 1))
                    .collect()
            })
            .collect();
        Loader {
            files,
            line_starts,
            problems: Vec::new(),
            saw_syntax_error: false,
        }
    }

    pub(crate) fn report(&mut self, origin: Origin, problem: Problem) {
        self.problems.push((origin, problem));
    }

    pub(crate) fn location(&self, origin: Origin) -> Location {
        let Some(file) = self.files.get(origin.file) else {
            return Location {
                path: String::new(),
                position: None,
            };
        };
        let starts = self
            .line_starts
            .get(origin.file)
            .map_or(&[][..], Vec::as_slice);
        let line = starts
            .partition_point(|start| *start <= origin.offset)
            .max(1);
        let line_start = starts.get(line - 1).copied().unwrap_or(0);
        let column = file
            .text
            .get(line_start..origin.offset)
            .map_or(1, |text| text.chars().count() + 1);
        Location {
            path: file.path.clone(),
            position: Some(Position { line, column }),
        }
    }

    fn into_errors(mut self) -> Vec<EstateError> {
        // Stable: problems at one place keep the order in which they were found.
        self.problems.sort_by_key(|(origin, _)| *origin);
        let problems = std::mem::take(&mut self.problems);
        problems
            .into_iter()
            .map(|(origin, problem)| EstateError {
                location: self.location(origin),
                problem,
            })
            .collect()
    }

    // ---------------------------------------------------------------- pass 1: read entries

    fn parse_file(&mut self, file: usize, text: &'a str, parsed: &mut Parsed) {
        let (root, syntax_errors) = DeTable::parse_recoverable(text);
        for error in &syntax_errors {
            let offset = error.span().map_or(0, |span| span.start);
            let message = error.message().trim_end().trim_end_matches('.').to_owned();
            self.report(Origin { file, offset }, Problem::Syntax { message });
            self.saw_syntax_error = true;
        }
        if !syntax_errors.is_empty() {
            // What the parser recovered after an error is a guess; its problems would be noise.
            return;
        }
        for (key, value) in root.into_inner() {
            let key_origin = Origin {
                file,
                offset: key.span().start,
            };
            let name = key.into_inner().into_owned();
            let Some(kind) = EntityKind::parse(&name) else {
                self.report(key_origin, Problem::UnknownTable { name });
                continue;
            };
            let DeValue::Array(items) = value.into_inner() else {
                self.report(key_origin, Problem::NotArrayOfTables { name });
                continue;
            };
            for item in items {
                if !item.get_ref().is_table() {
                    let origin = Origin {
                        file,
                        offset: item.span().start,
                    };
                    self.report(origin, Problem::NotArrayOfTables { name: name.clone() });
                    continue;
                }
                self.read_entry(file, kind, item, parsed);
            }
        }
    }

    fn read_entry(
        &mut self,
        file: usize,
        kind: EntityKind,
        item: Spanned<DeValue<'a>>,
        parsed: &mut Parsed,
    ) {
        let id = item
            .get_ref()
            .as_table()
            .and_then(|table| table.get("id"))
            .and_then(|id| id.get_ref().as_str())
            .map(str::to_owned);
        let read = match kind {
            EntityKind::Site => self
                .read(file, kind, item)
                .map(|raw| parsed.sites.push(Entry { file, raw })),
            EntityKind::Zone => self
                .read(file, kind, item)
                .map(|raw| parsed.zones.push(Entry { file, raw })),
            EntityKind::Door => self
                .read(file, kind, item)
                .map(|raw| parsed.doors.push(Entry { file, raw })),
            EntityKind::Ap => self
                .read(file, kind, item)
                .map(|raw| parsed.aps.push(Entry { file, raw })),
            EntityKind::SwitchPort => self
                .read(file, kind, item)
                .map(|raw| parsed.switch_ports.push(Entry { file, raw })),
            EntityKind::Network => self
                .read(file, kind, item)
                .map(|raw| parsed.networks.push(Entry { file, raw })),
            EntityKind::Asset => self
                .read(file, kind, item)
                .map(|raw| parsed.assets.push(Entry { file, raw })),
            EntityKind::Resource => self
                .read(file, kind, item)
                .map(|raw| parsed.resources.push(Entry { file, raw })),
            EntityKind::Person => self
                .read(file, kind, item)
                .map(|raw| parsed.people.push(Entry { file, raw })),
        };
        if read.is_none()
            && let Some(id) = id
        {
            parsed.unreadable.insert((kind, id));
        }
    }

    fn read<T: Deserialize<'a>>(
        &mut self,
        file: usize,
        kind: EntityKind,
        item: Spanned<DeValue<'a>>,
    ) -> Option<T> {
        let item_start = item.span().start;
        match T::deserialize(ValueDeserializer::from(item)) {
            Ok(raw) => Some(raw),
            Err(error) => {
                let offset = error.span().map_or(item_start, |span| span.start);
                let message = error.message().trim_end().trim_end_matches('.').to_owned();
                self.report(
                    Origin { file, offset },
                    Problem::Invalid {
                        entity: kind,
                        message,
                    },
                );
                None
            }
        }
    }

    // ---------------------------------------------------------------- pass 2: register ids

    fn register<T>(
        &mut self,
        registry: &mut Registry,
        kind: EntityKind,
        entries: &[Entry<T>],
        id: impl Fn(&T) -> &Text,
    ) {
        let ids = registry.ids.entry(kind).or_default();
        for (position, entry) in entries.iter().enumerate() {
            let text = id(&entry.raw);
            let origin = entry.at(text);
            let Ok(index) = u32::try_from(position) else {
                self.problems.push((
                    origin,
                    Problem::TooMany {
                        entity: kind,
                        max: u32::MAX,
                    },
                ));
                break;
            };
            match ids.get(text.get_ref()) {
                Some((_, first)) => {
                    let first = *first;
                    let problem = Problem::DuplicateId {
                        entity: kind,
                        id: text.get_ref().clone(),
                        first: self.location(first),
                    };
                    self.problems.push((origin, problem));
                }
                None => {
                    ids.insert(text.get_ref().clone(), (index, origin));
                }
            }
        }
    }

    // ---------------------------------------------------------------- pass 3: build and check

    /// The entities, with their references resolved; the lookups are left empty, to be built
    /// only when no problem was found.
    fn build(&mut self, parsed: &Parsed, existing_people: Option<&[Person]>) -> Estate {
        let mut registry = Registry::default();
        self.register(&mut registry, EntityKind::Site, &parsed.sites, |raw| {
            &raw.id
        });
        self.register(&mut registry, EntityKind::Zone, &parsed.zones, |raw| {
            &raw.id
        });
        self.register(&mut registry, EntityKind::Door, &parsed.doors, |raw| {
            &raw.id
        });
        self.register(&mut registry, EntityKind::Ap, &parsed.aps, |raw| &raw.id);
        self.register(
            &mut registry,
            EntityKind::SwitchPort,
            &parsed.switch_ports,
            |raw| &raw.id,
        );
        self.register(
            &mut registry,
            EntityKind::Network,
            &parsed.networks,
            |raw| &raw.id,
        );
        self.register(&mut registry, EntityKind::Asset, &parsed.assets, |raw| {
            &raw.id
        });
        self.register(
            &mut registry,
            EntityKind::Resource,
            &parsed.resources,
            |raw| &raw.id,
        );
        match existing_people {
            Some(people) => {
                let ids = registry.ids.entry(EntityKind::Person).or_default();
                for (position, person) in (0u32..).zip(people) {
                    ids.entry(person.id.clone())
                        .or_insert((position, Origin { file: 0, offset: 0 }));
                }
            }
            None => self.register(&mut registry, EntityKind::Person, &parsed.people, |raw| {
                &raw.id
            }),
        }
        let mut check = Checker {
            loader: self,
            registry: &registry,
            unreadable: &parsed.unreadable,
        };

        let sites: Vec<Site> = parsed.sites.iter().map(|entry| check.site(entry)).collect();
        let zones: Vec<Zone> = parsed.zones.iter().map(|entry| check.zone(entry)).collect();
        let networks: Vec<Network> = parsed
            .networks
            .iter()
            .map(|entry| check.network(entry))
            .collect();
        let doors: Vec<Door> = parsed
            .doors
            .iter()
            .map(|entry| check.door(entry, &sites, &zones))
            .collect();
        let aps: Vec<Ap> = parsed.aps.iter().map(|entry| check.ap(entry)).collect();
        let switch_ports: Vec<SwitchPort> = parsed
            .switch_ports
            .iter()
            .map(|entry| check.switch_port(entry, &sites, &zones, &networks))
            .collect();
        let mut claims = Vec::new();
        let people: Vec<Person> = match existing_people {
            Some(people) => people.to_vec(),
            None => (0u32..)
                .zip(&parsed.people)
                .map(|(index, entry)| check.person(entry, PersonIdx(index), &mut claims))
                .collect(),
        };
        let assets: Vec<Asset> = parsed
            .assets
            .iter()
            .map(|entry| check.asset(entry, &networks))
            .collect();
        let resources: Vec<Resource> = parsed
            .resources
            .iter()
            .map(|entry| check.resource(entry))
            .collect();

        check.unique_values(
            &parsed.sites,
            &parsed.doors,
            &parsed.aps,
            &parsed.networks,
            &parsed.assets,
        );
        check.single_holders(claims, &people);

        Estate {
            sites,
            zones,
            doors,
            aps,
            switch_ports,
            networks,
            assets,
            resources,
            people,
            lookup: Lookup::default(),
            precedence: Default::default(),
            owners: Default::default(),
        }
    }
}
