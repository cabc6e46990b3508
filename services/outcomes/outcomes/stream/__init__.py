"""The outcomes stream: faust agents over the domain topics, the families'
pictures in faust tables, the read model and the outbox in SQL."""
