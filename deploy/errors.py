"""Errors raised by the deploy toolkit.

Each failure mode has its own class so that the fabfile can turn it into one clear sentence for the user
(``Exit(str(error))``) instead of a traceback. Every message names what was wrong and what to do about it.
"""


class DeployError(Exception):
    """Base class: something the user can fix stopped a deploy task."""


class ConfigError(DeployError):
    """fabfile_config.py is missing, or a value in it is missing or wrong."""


class FrontMatterError(DeployError):
    """A Lambda file's front matter block is malformed, has an unknown key or a value of the wrong type."""


class StateMachineDefinitionError(DeployError):
    """A state machine definition in state_machines/ cannot be read or is not valid ASL."""


class StackError(DeployError):
    """CloudFormation refused the change set or the stack failed to reach a complete state."""


class NotDeployedError(DeployError):
    """A task needs a deployed stack or state machine and there is none."""


class LimitError(DeployError):
    """The template would exceed a limit of IAM, Lambda, Step Functions or CloudFormation, which would refuse it."""


class ScheduleError(DeployError):
    """A schedule of SCHEDULES cannot be put in place: its input is refused, or Scheduler or IAM refused a call."""
