import CLibPQ
import TidemarkCore
