from . import models, providers
