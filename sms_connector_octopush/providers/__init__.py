from . import octopush
