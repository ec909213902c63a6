import CSQLite
import TidemarkCore
