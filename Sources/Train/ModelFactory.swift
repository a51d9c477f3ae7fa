import Configuration
import NN

/// The model a config describes: its custom `layers` if given, else the zoo model `name`.
public enum ModelFactory {
    public static func make(_ section: ModelSection, inputShape: [Int], classes: Int) throws -> Model {
        if let layers = section.layers {
            return try CustomModelBuilder.build(name: section.name, layers: layers, inputShape: inputShape, classes: classes)
        }
        return try ModelZoo.make(section.name, inputShape: inputShape, classes: classes)
    }
}
