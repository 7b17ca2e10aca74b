import sys

from gtl_ray.cli import main

sys.exit(main())
