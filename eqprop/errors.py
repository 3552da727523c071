"""The project's one error class."""


class EqpropError(ValueError):
    """Bad input to eqprop: the message says what arrived and how to fix it.

    The CLI prints the message on one line and exits with status 2.
    """
