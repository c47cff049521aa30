"""Order execution: the typed order model, paper and live execution, emulation, events.

* :mod:`~real_trade.execution.orders`: :class:`OrderRequest`, :class:`TrackedOrder` (the state
  machine to backtrader's statuses, idempotent by trade id), :class:`SymbolLimits`,
  :class:`LocalTrigger`. :class:`OrderSide`, :class:`OrderKind` and :func:`base_asset` are
  re-exported from :mod:`real_trade.vocabulary`, their one home.
* :mod:`~real_trade.execution.events`: the :class:`ExecutionPort` interface and its reports;
  :class:`OrderUpdate` (``order.<state>``) and :class:`FillEvent` (``fill``) on the bus.
* :mod:`~real_trade.execution.order_manager`: :class:`OrderManager` (OCO, brackets, trailing stops,
  pre-send checks).
* :mod:`~real_trade.execution.holdings`: :class:`Holdings` (the base-asset holding, fees taken
  in it, sells fitted to it, dust) and :class:`PositionDust` (``position.dust``).
* :mod:`~real_trade.execution.paper`: :class:`PaperExecution` on the simulator's matching engine.
* :mod:`~real_trade.execution.live`: :class:`LiveExecution` through the venue client.
* :mod:`~real_trade.execution.client_ids`: :class:`ClientOrderIds`, deterministic ids.
"""

from real_trade.execution.client_ids import ClientOrderIds
from real_trade.execution.contracts import (
    FUNDING_TOPIC,
    LIQUIDATION_TOPIC,
    ContractAccount,
    ContractPosition,
    FundingPayment,
    Liquidation,
    contract_account_of,
)
from real_trade.execution.events import (
    FILL_TOPIC,
    Balance,
    BalanceReport,
    ExchangeFill,
    ExecutionPort,
    FillEvent,
    FillReport,
    OrderReport,
    OrderUpdate,
    Report,
    SubmitFailed,
    order_topic,
)
from real_trade.execution.holdings import DUST_TOPIC, Holdings, PositionDust, SellTrim
from real_trade.execution.live import LiveExecution
from real_trade.execution.order_manager import OrderManager
from real_trade.execution.orders import (
    ExchangeStatus,
    LocalTrigger,
    ManagedOrder,
    OrderChange,
    OrderRequest,
    OrderState,
    SymbolLimits,
    TrackedOrder,
)
from real_trade.execution.paper import BarPathMarket, PaperBar, PaperExecution, bar_path
from real_trade.vocabulary import OrderKind, OrderSide, base_asset

__all__ = [
    "DUST_TOPIC",
    "FILL_TOPIC",
    "FUNDING_TOPIC",
    "LIQUIDATION_TOPIC",
    "Balance",
    "BalanceReport",
    "BarPathMarket",
    "ClientOrderIds",
    "ContractAccount",
    "ContractPosition",
    "ExchangeFill",
    "ExchangeStatus",
    "ExecutionPort",
    "FillEvent",
    "FillReport",
    "FundingPayment",
    "Holdings",
    "Liquidation",
    "LiveExecution",
    "LocalTrigger",
    "ManagedOrder",
    "OrderChange",
    "OrderKind",
    "OrderManager",
    "OrderReport",
    "OrderRequest",
    "OrderSide",
    "OrderState",
    "OrderUpdate",
    "PaperBar",
    "PaperExecution",
    "PositionDust",
    "Report",
    "SellTrim",
    "SubmitFailed",
    "SymbolLimits",
    "TrackedOrder",
    "bar_path",
    "base_asset",
    "contract_account_of",
    "order_topic",
]
