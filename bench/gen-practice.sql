-- gen-practice.sql - fill a GNUmed database with synthetic patients
--
--   psql -v patients=N -v doc_kb=K -v ON_ERROR_STOP=1 -d DB -f gen-practice.sql
--
-- Row inserts only, through GNUmed's own triggers (audit fields, sanity
-- checks, notifications): no DDL on the database's schema, so the schema
-- hash stays what it was. Run as the superuser or gm-dbo. Per patient:
-- an identity, a name, a clin.patient row, 6 encounters, 2 health issues
-- with an open episode each and 1 episode without issue, 4 SOAP notes and 3
-- test results per encounter, 2 documents of one page each that hold
-- doc_kb KiB of incompressible binary content between them, a home address
-- and a phone number, and a vaccination history of 10 shots (two each of
-- five vaccines, so that the "latest vaccination" views have something to
-- choose), each at its own date two months after the one before; an
-- allergy state; and, for some patients, an allergy (one in 5), a
-- procedure (1 in 2), an inbox message (1 in 10), external care (1 in 10),
-- a place on the waiting list (the first 10).
\set ON_ERROR_STOP 1
\if :{?patients}
\else
\set patients 100
\endif
\if :{?doc_kb}
\else
\set doc_kb 256
\endif
\set doc_bytes (:doc_kb * 1024 / 2)
set client_min_messages to warning;
-- GNUmed databases default to read-only transactions
set default_transaction_read_only to off;
\timing on

-- the mapping of patient number to primary keys: session-local scratch
-- tables (pg_temp), gone at the end; every key comes from GNUmed's own
-- sequences
create temp table gen_pat as
	select i, nextval('dem.identity_pk_seq')::int as pk from generate_series(1, :patients) i;
create temp table gen_enc as
	select p.i, e, p.pk as pk_identity, nextval('clin.encounter_pk_seq')::int as pk,
		timestamptz '2010-01-01 09:00 UTC' + (p.i % 3000) * interval '1 day' + e * interval '37 days' as started
	from gen_pat p, generate_series(1, 6) e;
create temp table gen_issue as
	select p.i, h, p.pk as pk_identity, nextval('clin.health_issue_pk_seq')::int as pk,
		nextval('clin.episode_pk_seq')::int as pk_episode
	from gen_pat p, generate_series(1, 2) h;
create temp table gen_epi as
	select i, pk_identity, pk_episode as pk, pk as pk_issue from gen_issue
	union all
	select p.i, p.pk, nextval('clin.episode_pk_seq')::int, null from gen_pat p;
create temp table gen_doc as
	select p.i, d, p.pk as pk_identity, nextval('blobs.doc_med_pk_seq')::int as pk from gen_pat p, generate_series(1, 2) d;
-- one block of random bytes; each page is a different slice of it, led by
-- its own key (random, so TOAST cannot compress it)
create temp table gen_block as
	select decode(string_agg(md5(random()::text), ''), 'hex') as b
	from generate_series(1, (2 * :doc_bytes) / 16 + 1);

-- persons
insert into dem.identity (pk, gender, dob, comment)
	select pk, case when i % 2 = 0 then 'm' else 'f' end,
		timestamptz '1930-01-01 12:00 UTC' + (i * 7919 % 30000) * interval '1 day',
		'gmdb bench patient ' || i
	from gen_pat order by i;
insert into dem.names (id_identity, lastnames, firstnames, active)
	select pk, 'Benchmann-' || i,
		(array['Anna', 'Bernd', 'Clara', 'Dieter', 'Erika', 'Frank', 'Greta', 'Hans'])[1 + i % 8], true
	from gen_pat order by i;
insert into clin.patient (fk_identity) select pk from gen_pat order by i;

-- the medical record
insert into clin.encounter (pk, fk_patient, fk_type, fk_location, started, last_affirmed, reason_for_encounter, assessment_of_encounter)
	select pk, pk_identity, (select min(pk) from clin.encounter_type),
		(select min(pk) from dem.org_unit), started, started + interval '20 minutes',
		'follow-up visit ' || e, 'stable, see notes'
	from gen_enc order by i, e;
insert into clin.health_issue (pk, description, fk_encounter, age_noted, laterality, diagnostic_certainty_classification)
	select g.pk, (array['hypertension', 'diabetes mellitus type 2', 'asthma', 'back pain', 'hypothyroidism'])[1 + (g.i + g.h) % 5],
		e.pk, interval '40 years', 'na', 'B'
	from gen_issue g join gen_enc e on e.i = g.i and e.e = 1 order by g.i, g.h;
insert into clin.episode (pk, fk_health_issue, description, is_open, fk_encounter)
	select g.pk, g.pk_issue, case when g.pk_issue is null then 'check-up' else 'management' end,
		true, e.pk
	from gen_epi g join gen_enc e on e.i = g.i and e.e = 1 order by g.pk;
insert into clin.clin_narrative (fk_encounter, fk_episode, soap_cat, clin_when, narrative)
	select e.pk, ep.pk, s.cat, e.started,
		s.cat || ': ' || repeat('Patient seen for follow-up, history and findings documented, plan discussed. ', 2 + (e.i + e.e) % 4) || e.i || '/' || e.e
	from gen_enc e
	join lateral (select pk from gen_epi where i = e.i order by pk offset (e.e % 3) limit 1) ep on true
	cross join (values ('s'), ('o'), ('a'), ('p')) s(cat)
	order by e.pk, s.cat;
insert into clin.test_result (fk_encounter, fk_episode, clin_when, fk_type, val_num, val_unit, fk_intended_reviewer, val_normal_min, val_normal_max)
	select e.pk, ep.pk, e.started, t.pk, round((10 + (e.i * 31 + e.e * 7 + t.pk) % 90)::numeric, 1),
		coalesce(t.reference_unit, 'unit'), (select min(pk) from dem.staff), 10, 90
	from gen_enc e
	join lateral (select pk from gen_epi where i = e.i order by pk limit 1) ep on true
	join lateral (select pk, reference_unit from clin.test_type order by pk offset (e.e % 3) * 3 limit 3) t on true
	order by e.pk, t.pk;

-- documents, their binary content in blobs.doc_obj
insert into blobs.doc_med (pk, fk_encounter, fk_episode, fk_type, comment, clin_when)
	select d.pk, e.pk, ep.pk, (select min(pk) from blobs.doc_type), 'scanned letter ' || d.d, e.started
	from gen_doc d
	join gen_enc e on e.i = d.i and e.e = 1 + d.d
	join lateral (select pk from gen_epi where i = d.i order by pk limit 1) ep on true
	order by d.pk;
insert into blobs.doc_obj (fk_doc, seq_idx, fk_intended_reviewer, filename, data)
	select d.pk, 1, (select min(pk) from dem.staff), 'letter-' || d.pk || '.jpg',
		int4send(d.pk) || substring(b.b from 1 + (d.pk * 7919) % :doc_bytes for :doc_bytes - 4)
	from gen_doc d, gen_block b order by d.pk;

-- addresses and phone numbers
create temp table gen_addr as
	select p.i, p.pk as pk_identity, nextval('dem.address_id_seq')::int as pk,
		(select array_agg(id order by id) from dem.street) as streets
	from gen_pat p;
insert into dem.address (id, id_street, number)
	select pk, streets[1 + i % array_length(streets, 1)], (1 + i / 11)::text from gen_addr order by i;
insert into dem.lnk_person_org_address (id_identity, id_address, id_type)
	select pk_identity, pk, (select min(id) from dem.address_type) from gen_addr order by i;
insert into dem.lnk_identity2comm (fk_identity, url, fk_type)
	select pk_identity, '+49 30 ' || (1000000 + i)::text, (select pk from dem.enum_comm_types where description = 'homephone')
	from gen_addr order by i;

-- vaccination histories: the same schedule for every patient, two shots
-- each of five vaccines (tetanus, diphtheria, pertussis, poliomyelitis,
-- hepatitis B), a shot's date 61 days after the one before (never two
-- within the week the duplicate warning looks at). Why so uniform:
-- upstream's "latest vaccinations" checks compare the count of the first
-- group of a GROUP BY (by indication, patient, vaccine), whichever group
-- the server lists first; unless all groups have the same size, upstream's
-- own engine fails those checks. Only generic single-indication vaccines
-- that upstream's v22 conversion (v22-ref-convert_vaccines.sql) maps to
-- its new products can be used: it fails on others in use (varicella,
-- rotavirus, smallpox, Hib, meningococcus W/Y, mumps, yellow fever do).
create temp table gen_vaccine as
	select row_number() over (order by v.pk) - 1 as n, v.pk as pk_vaccine
	from clin.vaccine v join ref.branded_drug b on b.pk = v.fk_brand
	where b.description in ('tetanus - generic vaccine', 'diphtheria - generic vaccine',
		'pertussis - generic vaccine', 'poliomyelitis - generic vaccine', 'hepatitis B - generic vaccine');
insert into clin.vaccination (fk_encounter, fk_episode, clin_when, fk_vaccine, batch_no, site, fk_provider)
	select e.pk, ep.pk, timestamptz '1995-01-01 10:00 UTC' + (p.i % 3000) * interval '1 day' + s * interval '61 days',
		v.pk_vaccine, 'B' || (p.i * 10 + s), 'left deltoid', (select min(pk) from dem.staff)
	from gen_pat p
	cross join generate_series(0, 9) s
	join gen_enc e on e.i = p.i and e.e = 1 + s % 6
	join lateral (select pk from gen_epi where i = p.i order by pk desc limit 1) ep on true
	join gen_vaccine v on v.n = s % 5
	order by p.i, s;
-- the rest of what upstream's checks count, in a general practice's
-- proportions: an allergy state for every patient, recorded at the first
-- visit, and an allergy for every fifth; a procedure for every second
-- patient (at another practice's unit); a message in the inbox for every
-- tenth, and external care of a health issue for every tenth; a waiting
-- list of ten.
insert into clin.allergy_state (fk_encounter, has_allergy, last_confirmed)
	select e.pk, 0, e.started from gen_enc e where e.e = 1 order by e.i;
insert into clin.allergy (clin_when, fk_encounter, fk_episode, substance, allergene, fk_type, narrative, soap_cat, definite)
	select e.started, e.pk, ep.pk, (array['penicillin', 'ibuprofen', 'latex', 'birch pollen'])[1 + e.i / 5 % 4],
		(array['penicillin', 'ibuprofen', 'latex', 'birch pollen'])[1 + e.i / 5 % 4],
		(select min(pk) from clin._enum_allergy_type), 'rash, itching', 'o', true
	from gen_enc e
	join lateral (select pk from gen_epi where i = e.i order by pk limit 1) ep on true
	where e.e = 1 and e.i % 5 = 0 order by e.i;
insert into clin.procedure (clin_when, fk_encounter, fk_episode, narrative, soap_cat, fk_org_unit, is_ongoing)
	select e.started, e.pk, ep.pk, (array['ECG', 'spirometry', 'wound care', 'joint injection'])[1 + e.i / 2 % 4],
		'p', (select max(pk) from dem.org_unit), false
	from gen_enc e
	join lateral (select pk from gen_epi where i = e.i order by pk limit 1) ep on true
	where e.e = 2 and e.i % 2 = 0 order by e.i;
insert into dem.message_inbox (fk_staff, fk_inbox_item_type, comment, importance, fk_patient)
	select (select min(pk) from dem.staff), (select min(pk) from dem.inbox_item_type),
		'please review the lab results', 0, p.pk
	from gen_pat p where p.i % 10 = 0 order by p.i;
insert into clin.external_care (fk_encounter, fk_health_issue, fk_org_unit, provider)
	select e.pk, g.pk, (select max(pk) from dem.org_unit), 'Dr. Specialist'
	from gen_issue g join gen_enc e on e.i = g.i and e.e = 1
	where g.i % 10 = 0 and g.h = 1 order by g.i;
insert into clin.waiting_list (fk_patient, urgency, list_position, area, comment)
	select p.pk, 0, (select coalesce(max(list_position), 0) from clin.waiting_list) + p.i, 'main waiting room', 'blood pressure check'
	from gen_pat p where p.i <= 10 order by p.i;

\timing off
select format('generated %s patients: %s encounters, %s notes, %s test results, %s documents (%s), %s addresses, %s vaccinations, %s allergies, %s procedures, %s inbox messages',
	:patients, (select count(*) from gen_enc), (select count(*) * 4 from gen_enc), (select count(*) * 3 from gen_enc),
	(select count(*) from gen_doc), pg_size_pretty((select sum(length(data)) from blobs.doc_obj o join gen_doc d on d.pk = o.fk_doc)),
	(select count(*) from gen_addr), (select count(*) * 10 from gen_pat), (select count(*) from gen_pat where i % 5 = 0),
	(select count(*) from gen_pat where i % 2 = 0), (select count(*) from gen_pat where i % 10 = 0));
