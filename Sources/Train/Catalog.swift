import NN

/// Names the command-line tool needs without importing the layers themselves.
public enum Catalog {
    public static var models: [String] { ModelZoo.names }
    public static let datasets = ["synthetic", "mnist", "cifar10"]
}
