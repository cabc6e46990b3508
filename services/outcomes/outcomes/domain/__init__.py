"""Pure rules of family outcomes: no I/O, no framework, no clock (times are
the events' own, or passed in).

`family` is one family's picture; `updates` what each input event adds to it;
`problems` its headline problems on a day; `progress` sustained progress
against its plan; `outputs` what the picture says (identified in data, an
outcome achieved, a results claim); `view` what the family view shows;
`thresholds` the numbers they use; `days` the days in England they count in."""
