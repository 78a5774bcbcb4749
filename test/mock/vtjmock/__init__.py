"""vtjmock: a mock of DVV's VTJ-muutosrajapinta (REST/JSON) and VTJkysely (SOAP)
with a deterministic synthetic population.  Standard library only."""
