from . import providers
from . import models
