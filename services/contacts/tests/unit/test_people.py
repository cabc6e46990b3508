import uuid
from datetime import date

from contacts.domain.people import (
    KnownPerson,
    PersonFacts,
    choose_match,
    demographic_key,
    normalise_name,
    normalise_postcode,
)

AMY = PersonFacts("Amy", "Test-Child", date(2015, 3, 1), nhs_number="9434765919", postcode="RG1 1AA")


def known(nhs: str | None = None, upn: str | None = None) -> KnownPerson:
    return KnownPerson(uuid.uuid4(), nhs, upn)


def test_names_normalise_case_accents_spaces_and_punctuation() -> None:
    assert normalise_name("  Zoë O'Brien-Smith ") == normalise_name("ZOE OBRIEN SMITH")
    assert normalise_postcode(" rg1 1aa ") == "RG11AA"


def test_demographic_key_ignores_presentation_but_not_substance() -> None:
    same = PersonFacts("AMY", "test child", date(2015, 3, 1), postcode="rg11aa")
    assert demographic_key(AMY) == demographic_key(same)
    assert demographic_key(AMY) != demographic_key(
        PersonFacts("Amy", "Test-Child", date(2015, 3, 2), postcode="RG1 1AA")
    )
    assert demographic_key(AMY) != demographic_key(
        PersonFacts("Amy", "Test-Child", date(2015, 3, 1), postcode="RG1 1AB")
    )


def test_demographic_key_needs_dob_and_postcode() -> None:
    assert demographic_key(PersonFacts("Amy", "Test", None, postcode="RG1 1AA")) is None
    assert demographic_key(PersonFacts("Amy", "Test", date(2015, 3, 1))) is None


def test_the_key_is_one_way() -> None:
    key = demographic_key(AMY)
    assert key is not None and "amy" not in key.lower() and "2015" not in key


def test_nhs_number_wins_over_everything() -> None:
    by_nhs, by_upn, by_demo = known(nhs="9434765919"), known(upn="H801200001001"), known()
    assert choose_match(AMY, by_nhs, by_upn, [by_demo]) is by_nhs


def test_upn_used_when_no_nhs_match() -> None:
    by_upn = known(upn="H801200001001")
    assert choose_match(AMY, None, by_upn, [known()]) is by_upn


def test_upn_match_refused_when_its_nhs_number_contradicts() -> None:
    by_upn = known(nhs="4010232137", upn="H801200001001")
    by_demo = known()
    assert choose_match(AMY, None, by_upn, [by_demo]) is by_demo


def test_demographic_candidates_with_conflicting_identifiers_are_skipped() -> None:
    conflicting, compatible = known(nhs="4010232137"), known(nhs=None)
    assert choose_match(AMY, None, None, [conflicting, compatible]) is compatible
    assert choose_match(AMY, None, None, [conflicting]) is None


def test_no_candidates_means_a_new_person() -> None:
    assert choose_match(AMY, None, None, []) is None


def test_family_is_the_first_known_childs_and_the_other_childrens_families_merge_into_it() -> None:
    from contacts.domain.people import FamilyPlan, plan_family

    first, second, adults, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert plan_family([None, first, second, first], [adults]) == FamilyPlan(first, (second,))
    assert plan_family([None, None], [None, adults]) == FamilyPlan(adults)  # an adult brings the child in
    assert plan_family([first], [adults]) == FamilyPlan(first)  # adults never merge households
    assert plan_family([None], [None], new_id=lambda: new) == FamilyPlan(new)


def test_a_demographic_tie_is_left_unmatched() -> None:
    assert choose_match(AMY, None, None, [known(), known()]) is None


def test_a_contact_fills_in_what_was_not_known_but_never_takes_an_identifier_held_by_another() -> None:
    from datetime import date

    from contacts.domain.people import StoredPerson, filled_in

    known = StoredPerson(nhs_number=None, upn="A123", postcode="RG1 1AA", date_of_birth=None, demographic_key=None)
    facts = PersonFacts("Ann", "Example", date(2016, 4, 1), nhs_number="9434765919", upn="B999", postcode="RG2 2BB")
    after = filled_in(known, facts, nhs_taken=False, upn_taken=False)
    assert after.nhs_number == "9434765919" and after.upn == "A123"  # a known UPN is kept
    assert after.postcode == "RG2 2BB" and after.date_of_birth == date(2016, 4, 1) and after.demographic_key
    assert filled_in(known, facts, nhs_taken=True, upn_taken=False).nhs_number is None


def test_an_nhs_number_match_is_taken_though_the_upn_differs() -> None:
    # A temporary UPN later replaced by a permanent one: still the same child.
    same_child = known(nhs="9434765919", upn="H801200001001")
    with_permanent_upn = PersonFacts("Amy", "Test-Child", date(2015, 3, 1), nhs_number="9434765919",
                                     upn="A801200001002", postcode="RG1 1AA")
    assert choose_match(with_permanent_upn, same_child, None, []) is same_child


def test_judge_matches_and_fills_in_but_never_takes_an_identifier_another_candidate_holds() -> None:
    from contacts.domain.people import Candidates, Verdict, judge

    upn_holder = known(nhs="4010232137", upn="H801200001001")
    with_upn = PersonFacts("Amy", "Test-Child", date(2015, 3, 1), upn="H801200001001", postcode="RG1 1AA")
    verdict = judge(with_upn, Candidates(by_upn=upn_holder))
    assert isinstance(verdict, Verdict) and verdict.match is upn_holder
    amy_with_upn = PersonFacts("Amy", "Test-Child", date(2015, 3, 1), nhs_number="9434765919",
                               upn="H801200001001", postcode="RG1 1AA")
    contradicted = judge(amy_with_upn, Candidates(by_upn=upn_holder))  # her NHS number contradicts the holder's
    assert contradicted.match is None  # a new person, who does not take the UPN its holder keeps
    assert contradicted.now_known.nhs_number == "9434765919" and contradicted.now_known.upn is None


def test_judge_refuses_only_when_strict() -> None:
    from contacts.domain.people import Candidates, Refusal, judge

    tie = Candidates(by_demographics=(known(), known()))
    assert isinstance(judge(PersonFacts("Amy", "Test-Child", date(2015, 3, 1), postcode="RG1 1AA"), tie,
                            strict=True), Refusal)
    assert judge(PersonFacts("Amy", "Test-Child", date(2015, 3, 1), postcode="RG1 1AA"), tie).match is None
